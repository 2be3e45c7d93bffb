/**
 * IDLE's gaps (issue 19): mail that reaches a kept session while it is not idling must still be
 * announced within seconds, not at the next scheduled poll (here 300 s away). The sandbox IMAP
 * proxy holds one command of the session while the mail is delivered, so the mail lands exactly in
 * the gap, with no sleep:
 *
 * - during a poll, after its STATUS (the UID SEARCH held): the server reports it as EXISTS in the
 *   answer to a later command of the poll; the poll, which looked only up to its STATUS's UIDNEXT,
 *   is followed by another at once;
 * - between a new session's STATUS and its first SELECT (as after a token renewal; the EXAMINE
 *   held): the SELECT's answer counts the mail, no EXISTS follows, and the UIDNEXT it gives, higher
 *   than the poll's, is what reports it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(), POLL_IDLE: 'true', POLL_KEEP_SESSIONS_UNDER_SECONDS: '300', WEBHOOK_RETRY_BASE_MS: '50',
}), () => sandbox.redis);
let proxy: ImapProxy;

beforeAll(async () => {
  await t.deps.jobs.startAll();
  proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
});

afterAll(async () => {
  await proxy.stop();
});

/** An empty mailbox polled every 300 s through the proxy; its first poll is not made yet. */
async function mailbox(email: string): Promise<string> {
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: connection.json().id, email, pollIntervalSeconds: 300, ...sandbox.mailServers(), imap: { host: '127.0.0.1', port: proxy.port, secure: true } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

const subjects = (mailboxId: string): string[] => sandbox.receiver.received
  .filter((d) => d.type === 'message.received' && (d.body as { data: { mailboxId: string } }).data.mailboxId === mailboxId)
  .map((d) => (d.body as { data: { subject: string } }).data.subject);

/** The mailbox's next scheduled poll (ms), once it has recorded a poll. */
async function nextScheduled(id: string): Promise<number> {
  const view = await waitUntil('the poll recorded', async () => {
    const v = (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json() as { lastPollAt?: string; nextPollAt?: string };
    return v.lastPollAt && v.nextPollAt ? v : undefined;
  });
  return Date.parse(view.nextPollAt!);
}

describe('IDLE gaps', () => {
  it('announces at once mail that came during a poll, after its STATUS', async () => {
    const user = 'idle-gap-poll@contoso.example';
    const id = await mailbox(user);
    const idles = proxy.commands.filter((c) => c.command === 'IDLE').length;
    await t.deps.polling.scheduler.pollNow(id);
    const next = await nextScheduled(id);
    await waitUntil('the session idling', () => proxy.commands.filter((c) => c.command === 'IDLE').length > idles || undefined);

    // New mail through IDLE: its poll sends NOOP, STATUS, then UID SEARCH, held while more mail comes.
    const search = proxy.hold('SEARCH');
    await sandbox.dovecot.deliver(user, rawMail(user, 'gap first'));
    await search.reached;
    await sandbox.dovecot.deliver(user, rawMail(user, 'gap second'));
    search.release();

    await waitUntil('both announced', () => (subjects(id).includes('gap second') ? true : undefined));
    expect(subjects(id).sort()).toEqual(['gap first', 'gap second']);
    expect(Date.now()).toBeLessThan(next);
  });

  it('announces at once mail that came between a new session\'s STATUS and its first SELECT', async () => {
    const user = 'idle-gap-select@contoso.example';
    const id = await mailbox(user);
    // The first poll of an empty INBOX is a STATUS alone; the session then selects INBOX to idle.
    const examine = proxy.hold('EXAMINE');
    await t.deps.polling.scheduler.pollNow(id);
    await examine.reached;
    const next = await nextScheduled(id);
    await sandbox.dovecot.deliver(user, rawMail(user, 'gap before select'));
    examine.release();

    await waitUntil('announced', () => (subjects(id).includes('gap before select') ? true : undefined));
    expect(subjects(id)).toEqual(['gap before select']);
    expect(Date.now()).toBeLessThan(next);
  });
});
