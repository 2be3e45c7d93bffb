/**
 * What a poll of a kept session costs in Redis when the mailbox has nothing new (issue 19): the
 * poll's own commands, as the server saw them (MONITOR between two markers, so nothing is counted
 * by time), for one poll run as a poll job runs it. No worker runs (no BullMQ traffic of its own):
 * the job's claim, the record read, the reschedule with its trigger, the poll mark and the release.
 * And nothing of the record is rewritten, while the view still shows the poll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { RedisMonitor } from '../support/redis-monitor.js';

/** The most commands a kept, unchanged poll may send (their names are in the failure message). */
const MAX_COMMANDS = 6;

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', POLL_KEEP_SESSIONS_UNDER_SECONDS: '3600' }), () => sandbox.redis);
let monitor: RedisMonitor;
beforeAll(async () => {
  monitor = await RedisMonitor.start(sandbox.redis.url);
});
afterAll(async () => {
  await monitor?.stop();
});

describe('a kept poll of an unchanged mailbox', () => {
  it(`sends at most ${MAX_COMMANDS} Redis commands, rewrites nothing of the record, and shows in the view`, async () => {
    const connection = await t.deps.services.connections.create({
      name: 'commands', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const mailbox = await t.deps.services.mailboxes.create({
      connectionId: connection.id, email: 'poll-commands@contoso.example', pollIntervalSeconds: 60, ...sandbox.mailServers(),
    });
    const { scheduler, cycle } = t.deps.polling;
    const poll = async (): Promise<string> => cycle.run(mailbox.id, (await scheduler.dueOf(mailbox.id))!);
    // The first poll logs in (token, session) and takes the baseline; the second is the first kept one.
    expect(await poll()).toBe('ok');
    expect(await poll()).toBe('ok');

    const recordKey = t.deps.keys.mailbox(mailbox.id);
    const recordBefore = await t.deps.redis.get(recordKey);
    const due = (await scheduler.dueOf(mailbox.id))!;
    const before = Date.now();
    const { result, commands } = await monitor.during(() => cycle.run(mailbox.id, due));
    expect(result).toBe('ok');
    const sent = commands.filter((c) => c.source !== 'lua').map((c) => c.args[0]!.toLowerCase());
    expect(sent.length, `commands sent: ${sent.join(', ')}`).toBeLessThanOrEqual(MAX_COMMANDS);
    // No compare-and-set of the record, no read of the connection or the webhooks version.
    expect(commands.filter((c) => c.source === 'lua' && c.args[0]?.toLowerCase() === 'set' && c.args[1] === recordKey)).toEqual([]);
    expect(await t.deps.redis.get(recordKey)).toBe(recordBefore);

    // The view shows the poll: lastPollAt from the poll marks, nextPollAt from the schedule.
    const next = (await scheduler.dueOf(mailbox.id))!;
    expect(next).toBe(due + 60_000);
    const view = await t.deps.services.mailboxes.get(mailbox.id);
    expect(Date.parse(view.lastPollAt!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(view.nextPollAt!)).toBe(next);
  });
});
