/**
 * The poll lock while a poll runs: extended, so a slow poll keeps it; and
 * when it is lost all the same (here: taken by someone else, as after a
 * Redis restart), the poll stops, records nothing, and the mailbox is polled
 * again within seconds rather than at the sweeper's next pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startHostileImap, type HostileImap } from '../../sandbox/hostile-imap.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';

let hostile: HostileImap;

const sandbox = useSandbox();
beforeAll(async () => {
  hostile = await startHostileImap({ pki: sandbox.pki });
});
afterAll(async () => {
  await hostile?.stop();
});
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false' }), () => sandbox.redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
});

describe('the poll lock', () => {
  it('is extended through a slow poll; once lost, the poll stops, records nothing and is rescheduled at once', async () => {
    const connection = await t.deps.services.connections.create({
      name: 'lock', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    // A server that logs in and then never answers: the poll hangs until its 40 s deadline.
    const mailbox = await t.deps.services.mailboxes.create({
      connectionId: connection.id, email: 'never_answers@lock.example', pollIntervalSeconds: 3600,
      imap: { host: hostile.host, port: hostile.port, secure: true }, smtp: sandbox.mailServers().smtp,
    });
    await t.deps.polling.scheduler.pollNow(mailbox.id);
    const lockKey = t.deps.keys.pollLock(mailbox.id);
    await waitUntil('the poll to hold its lock', async () => ((await t.deps.redis.exists(lockKey)) === 1 ? true : undefined), 15_000);
    const dueBefore = await t.deps.polling.scheduler.dueOf(mailbox.id);

    // Held past the 15 s TTL: extended every 5 s while the poll hangs.
    await new Promise((r) => setTimeout(r, 17_000));
    expect(await t.deps.redis.exists(lockKey)).toBe(1);
    expect(await t.deps.redis.pttl(lockKey)).toBeGreaterThan(5_000);

    // Someone else's now: the next extension finds it gone.
    await t.deps.redis.set(lockKey, 'another-worker', 'PX', 20_000);
    const lostAt = Date.now();
    await waitUntil('the poll to give up', () => (t.logs.text().includes('poll lock taken by another worker during the poll') ? true : undefined), 10_000);
    expect(Date.now() - lostAt).toBeLessThan(7_000);
    // The log line comes first, the reschedule just after it.
    const due = await waitUntil('the mailbox rescheduled', async () => {
      const now = await t.deps.polling.scheduler.dueOf(mailbox.id);
      return now !== undefined && now !== dueBefore ? now : undefined;
    }, 2_000);
    expect(due).not.toBe(dueBefore);
    expect(due! - Date.now()).toBeLessThan(3_000);
    // Nothing recorded from the abandoned poll.
    const after = await t.deps.services.mailboxes.get(mailbox.id);
    expect(after.lastError).toBeNull();
    expect(after.lastPollAt).toBeNull();
    await t.deps.services.mailboxes.pause(mailbox.id);
  }, 60_000);
});
