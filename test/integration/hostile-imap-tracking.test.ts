/**
 * Following changes (issue 16) against a hostile IMAP server
 * (sandbox/hostile-imap-tracking.ts), through the real poll workers and the
 * webhook pipeline to the sandbox receiver: flags FETCH answers for messages
 * not asked about, a window of a million UIDs, FLAGS with thousands of
 * keywords. Each tracked folder changes after its baseline: exactly the
 * legitimate changes are announced, nothing for what the server added, the
 * flags announced are bounded and the mailboxes stay active; a flood of a
 * million answers ends the poll at once with the reason. The worker's memory
 * stays bounded and a healthy mailbox keeps being polled meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startHostileImap, type HostileImap, type HostileScenario } from '../../sandbox/hostile-imap.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';

/** Memory a worker may take on top of where it started while all of this goes on. */
const RSS_GROWTH_LIMIT_MB = 300;
/** The poll from which the scenarios' folders have changed (hostile-imap-tracking.ts). */
const CHANGED_FROM = 2;

interface MailboxView {
  state: string;
  lastPollAt: string | null;
  lastError: { code: string; detail: string } | null;
}

type ChangeData = { mailboxId: string; folder: string; uid: number; uidValidity: number; messageId: string | null; flags?: string[]; changed?: Record<string, boolean> };

let hostile: HostileImap;
let connectionId: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
});
const sandbox = useSandbox();
beforeAll(async () => {
  hostile = await startHostileImap({ pki: sandbox.pki });
});
afterAll(async () => {
  await hostile?.stop();
});
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50' }), () => sandbox.redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received', 'message.updated', 'message.deleted', 'mailbox.error'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'hostile tracking', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  connectionId = connection.json().id;
});

async function addMailbox(email: string, imap: { host: string; port: number; secure: boolean }, tracked: boolean): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: {
      connectionId, email, pollIntervalSeconds: 1, ...sandbox.mailServers(), imap,
      ...(tracked ? { track: { flags: true, deletions: true, window: 1000 } } : {}),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function view(id: string): Promise<MailboxView> {
  return (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json();
}

/** Distinct events (a retried delivery has the same webhook-id) of a type for a mailbox. */
const events = (type: string, mailboxId: string): ChangeData[] => [...new Map(sandbox.receiver.received
  .filter((d) => d.type === type && (d.body as { data: ChangeData }).data.mailboxId === mailboxId)
  .map((d) => [d.id, (d.body as { data: ChangeData }).data])).values()];

/** Samples this process's RSS (the app and its workers run here) until stopped; answers the peak growth in MB. */
function sampleMemory(): () => number {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return () => {
    clearInterval(timer);
    return Math.round((peak - start) / (1024 * 1024));
  };
}

/** Waits until the scenario's folder has been polled `n` times (its STATUS answered), counting from 1. */
const polled = (scenario: HostileScenario, n: number, timeoutMs = 30_000) =>
  waitUntil(`${n} polls of ${scenario}`, () => (hostile.statusCount(scenario) >= n ? true : undefined), timeoutMs);

describe('following changes on a hostile IMAP server', () => {
  it('announces exactly the changes of the window, bounded, whatever else the flags FETCH answers', async () => {
    const stopSampling = sampleMemory();
    const imap = { host: hostile.host, port: hostile.port, secure: true };
    const ids = {
      outside: await addMailbox('flags_outside_window@tracking.example', imap, true),
      million: await addMailbox('million_uids@tracking.example', imap, true),
      keywords: await addMailbox('many_keywords@tracking.example', imap, true),
      ids: await addMailbox('flood_message_ids@tracking.example', imap, true),
    };

    // The healthy mailbox, polled alongside: its mail is announced while the hostile ones are polled.
    const healthyUser = 'healthy-beside-tracking@contoso.example';
    const healthy = await addMailbox(healthyUser, sandbox.mailServers().imap, false);
    await waitUntil('the healthy baseline', async () => ((await view(healthy)).lastPollAt ? true : undefined));
    await sandbox.dovecot.deliver(healthyUser, rawMail(healthyUser, 'still flowing'));
    await waitUntil('the healthy announcement', () => events('message.received', healthy)[0], 30_000);

    // Answers for a sequence number past EXISTS or 0, for UIDs outside the range asked, not numbers,
    // beyond 32 bits, or twice: dropped. UID 1 left, UID 3 was flagged: those two, nothing else.
    const deleted = await waitUntil('the deletion', () => events('message.deleted', ids.outside)[0], 30_000);
    expect(deleted).toMatchObject({ folder: 'INBOX', uid: 1, uidValidity: 1, messageId: '<track-1@hostile.example>' });
    const flagged = await waitUntil('the flag change', () => events('message.updated', ids.outside)[0], 30_000);
    expect(flagged).toMatchObject({ uid: 3, messageId: '<track-3@hostile.example>', flags: ['\\Flagged'], changed: { flagged: true } });

    // FLAGS with 20 000 keywords, some of 10 000 characters: the update carries at most 50 flags of at most 100.
    const keywords = await waitUntil('the keywords change', () => events('message.updated', ids.keywords)[0], 30_000);
    expect(keywords).toMatchObject({ uid: 2, messageId: '<track-2@hostile.example>', changed: { flagged: true } });
    expect(keywords.flags).toHaveLength(50);
    expect(keywords.flags!.slice(0, 3)).toEqual(['\\Seen', '\\Flagged', '$kw0']);
    expect(keywords.flags!.every((f) => f.length <= 100)).toBe(true);

    // A million FETCH answers for the thousand asked about: the connection is dropped after 11 000 of them
    // (the detail says so: what bounds the poll, not a clock), and the poll fails with the reason (reading
    // them all took 20 s of a worker at every poll).
    const million = await waitUntil('the million in error', async () => {
      const v = await view(ids.million);
      return v.state === 'error' ? v : undefined;
    }, 30_000);
    expect(million.lastError).toMatchObject({ code: 'imap_error', detail: expect.stringMatching(/answered FETCH 999001:\* FLAGS with more than 11000 messages, for at most 1000 .*dropped/) });
    expect(await t.deps.redis.exists(t.deps.keys.trackedWindow(ids.million, 'INBOX'))).toBe(0);
    // Retried (after 5 s): the same error, announced once.
    await polled('million_uids', 2);
    await waitUntil('the retry done', () => (hostile.openConnections('million_uids') === 0 ? true : undefined), 10_000);
    expect(await view(ids.million)).toMatchObject({ state: 'error', lastError: { code: 'imap_error' } });
    await waitUntil('the million\'s mailbox.error', () => events('mailbox.error', ids.million)[0]);
    expect(events('mailbox.error', ids.million)).toHaveLength(1);

    // A million answers to the FETCH of three Message-IDs: the same, for the baseline's FETCH.
    const flood = await waitUntil('the Message-ID flood in error', async () => {
      const v = await view(ids.ids);
      return v.state === 'error' ? v : undefined;
    }, 30_000);
    expect(flood.lastError).toMatchObject({ code: 'imap_error', detail: expect.stringMatching(/answered UID FETCH MESSAGE-ID with more than 10003 messages, for at most 3 .*dropped/) });
    expect(await t.deps.redis.exists(t.deps.keys.trackedWindow(ids.ids, 'INBOX'))).toBe(0);

    // Later polls see the same folder: nothing more is announced.
    await Promise.all([polled('flags_outside_window', CHANGED_FROM + 4), polled('many_keywords', CHANGED_FROM + 4)]);
    for (const [name, id] of Object.entries({ outside: ids.outside, keywords: ids.keywords })) {
      const v = await view(id);
      expect(v.state, name).toBe('active');
      expect(v.lastError, name).toBeNull();
      expect(events('mailbox.error', id), name).toEqual([]);
    }
    for (const [name, id] of Object.entries(ids)) expect(events('message.received', id), name).toEqual([]);
    expect(events('message.deleted', ids.outside)).toHaveLength(1);
    expect(events('message.updated', ids.outside)).toHaveLength(1);
    expect(events('message.updated', ids.keywords)).toHaveLength(1);
    expect(events('message.deleted', ids.keywords)).toEqual([]);
    expect(events('message.updated', ids.million)).toEqual([]);
    expect(events('message.deleted', ids.million)).toEqual([]);
    expect(events('message.updated', ids.ids)).toEqual([]);

    const growth = stopSampling();
    expect(growth, `RSS grew by ${growth} MB`).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    expect(rejections).toEqual([]);
  }, 150_000);
});
