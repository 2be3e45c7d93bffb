/**
 * Following changes cheaply (issue 16, bench/track-fetch): between full looks
 * a tracked folder is looked at with four UID SEARCHes, and a poll whose
 * searches see the stored window unchanged FETCHes nothing (counted by the
 * sandbox IMAP proxy between mailsync and Dovecot). A \Seen change is found
 * by the searches at once; a keyword change, which no search sees, by the
 * next full look (POLL_TRACK_FULL_LOOK_SECONDS, 4 s here), once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { doveadmFor } from '../../sandbox/doveadm.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { nextSecond, rawMail, waitUntil } from '../support/mail.js';

const FULL_LOOK_SECONDS = 4;

const sandbox = useSandbox();
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50', POLL_TRACK_FULL_LOOK_SECONDS: String(FULL_LOOK_SECONDS),
}), () => sandbox.redis);
let proxy: ImapProxy;

beforeAll(async () => {
  proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.updated', 'message.deleted'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
});
afterAll(async () => {
  await proxy?.stop();
});

type ChangeData = { mailboxId: string; uid: number; flags: string[]; changed: Record<string, boolean> };
const updates = (id: string) => sandbox.receiver.received
  .filter((d) => d.type === 'message.updated' && (d.body as { data: ChangeData }).data.mailboxId === id)
  .map((d) => ({ id: d.id, data: (d.body as { data: ChangeData }).data }));

describe('the cheap look at a tracked folder', () => {
  it('fetches nothing while the searches see no change, and finds a keyword change at the next full look', async () => {
    const user = 'track-cheap@contoso.example';
    for (const subject of ['c1', 'c2', 'c3']) await sandbox.dovecot.deliver(user, rawMail(user, subject));
    await nextSecond();
    const connection = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    const res = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: {
        connectionId: connection.json().id, email: user, pollIntervalSeconds: 1, ...sandbox.mailServers(),
        imap: { host: '127.0.0.1', port: proxy.port, secure: true }, track: { flags: true, deletions: true, window: 100 },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    // The time of the last recorded poll (the first poll saves the window before it records itself).
    const polls = async () => Date.parse(await waitUntil('a recorded poll', async () =>
      ((await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json().lastPollAt as string | null) ?? undefined));
    await waitUntil('the baseline window', async () => (await t.deps.redis.exists(t.deps.keys.trackedWindow(id, 'INBOX'))) === 1 || undefined);

    // Polls with no change, each within a full look of the last: SEARCHes only, no FETCH answer.
    const fetchesBefore = proxy.fetchResponses;
    const searchesBefore = proxy.commands.filter((c) => c.command === 'UID').length;
    const since = await polls();
    await waitUntil('two more polls', async () => ((await polls()) >= since + 2_000 ? true : undefined));
    expect(proxy.fetchResponses).toBe(fetchesBefore);
    expect(proxy.commands.filter((c) => c.command === 'UID').length).toBeGreaterThanOrEqual(searchesBefore + 8);

    // \Seen: the searches see it.
    await doveadmFor(sandbox.dovecot.configFile)(['flags', 'add', '-u', user, '\\Seen', 'mailbox', 'INBOX', 'uid', '1']);
    const seen = await waitUntil('the \\Seen update', () => updates(id).find((u) => u.data.uid === 1));
    expect(seen.data.changed).toEqual({ seen: true });

    // A keyword: invisible to the searches, announced by the next full look, once.
    await doveadmFor(sandbox.dovecot.configFile)(['flags', 'add', '-u', user, '$Label1', 'mailbox', 'INBOX', 'uid', '2']);
    const keyword = await waitUntil('the keyword update', () => updates(id).find((u) => u.data.uid === 2), FULL_LOOK_SECONDS * 1000 + 15_000);
    expect(keyword.data).toMatchObject({ changed: {}, flags: ['$Label1'] });
    const after = await polls();
    await waitUntil('a full look later', async () => ((await polls()) >= after + (FULL_LOOK_SECONDS + 1) * 1000 ? true : undefined), 20_000);
    expect(new Set(updates(id).map((u) => u.id)).size).toBe(2);
  });
});
