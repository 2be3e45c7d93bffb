/**
 * Following changes within seconds where the session idles (issue 16): a
 * tracked mailbox polled every 300 s keeps its session, idling on INBOX; a
 * flag changed and a message expunged by another client (doveadm) reach the
 * idling session as unsolicited FETCH and EXPUNGE answers, which trigger a
 * poll at once. The next scheduled poll is minutes away, so an event before
 * the wait's deadline came through IDLE. The poll announces, so each change
 * is announced once, also when a later poll looks again.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { doveadmFor } from '../../sandbox/doveadm.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { nextSecond, rawMail, waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(), POLL_IDLE: 'true', POLL_KEEP_SESSIONS_UNDER_SECONDS: '300', WEBHOOK_RETRY_BASE_MS: '50',
}), () => sandbox.redis);

beforeAll(async () => {
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received', 'message.updated', 'message.deleted'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
});

type ChangeData = { mailboxId: string; uid: number; messageId: string | null; changed?: Record<string, boolean> };

const events = (mailboxId: string, type: string) => sandbox.receiver.received
  .filter((d) => d.type === type && (d.body as { data: ChangeData }).data.mailboxId === mailboxId)
  .map((d) => (d.body as { data: ChangeData }).data);

describe('following changes through IDLE', () => {
  it('announces a flag change and an expunge made elsewhere at once, each once', async () => {
    const user = 'track-idle@contoso.example';
    const messageIds: string[] = [];
    for (const subject of ['idle one', 'idle two', 'idle three']) {
      const mail = rawMail(user, subject);
      messageIds.push(/^Message-ID: (.*)$/m.exec(mail)![1]!.trim());
      await sandbox.dovecot.deliver(user, mail);
    }
    await nextSecond();
    const connection = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    expect(connection.statusCode, connection.body).toBe(201);
    const res = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: { connectionId: connection.json().id, email: user, pollIntervalSeconds: 300, ...sandbox.mailServers(), track: { flags: true, deletions: true, window: 100 } },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    const view = async () => (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json();
    // The first poll (spread over the interval: made now) takes the baseline and leaves its session idling on INBOX.
    await t.deps.polling.scheduler.pollNow(id);
    await waitUntil('the baseline window', async () => (await t.deps.redis.exists(t.deps.keys.trackedWindow(id, 'INBOX'))) === 1 || undefined);
    const { lastPollAt, nextPollAt } = await waitUntil('the poll recorded', async () => {
      const v = await view();
      return v.lastPollAt && v.nextPollAt ? v as { lastPollAt: string; nextPollAt: string } : undefined;
    });
    const nextScheduled = Date.parse(nextPollAt);
    expect(nextScheduled - Date.parse(lastPollAt)).toBeGreaterThan(200_000);

    await doveadmFor(sandbox.dovecot.configFile)(['flags', 'add', '-u', user, '\\Flagged', 'mailbox', 'INBOX', 'uid', '2']);
    const update = await waitUntil('the update through IDLE', () => events(id, 'message.updated')[0]);
    expect(update).toMatchObject({ uid: 2, messageId: messageIds[1], changed: { flagged: true } });

    await doveadmFor(sandbox.dovecot.configFile)(['expunge', '-u', user, 'mailbox', 'INBOX', 'uid', '3']);
    const gone = await waitUntil('the deletion through IDLE', () => events(id, 'message.deleted')[0]);
    expect(gone).toMatchObject({ uid: 3, messageId: messageIds[2] });
    expect(Date.now()).toBeLessThan(nextScheduled);

    // New mail triggers one more poll through IDLE: it looks at the window again and announces
    // the new mail, not the changes a second time.
    await sandbox.dovecot.deliver(user, rawMail(user, 'idle four'));
    await waitUntil('the new mail through IDLE', () => events(id, 'message.received')[0]);
    expect(events(id, 'message.updated')).toHaveLength(1);
    expect(events(id, 'message.deleted')).toHaveLength(1);
  });
});
