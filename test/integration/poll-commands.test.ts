/**
 * What a poll of a kept session costs in Redis when the mailbox has nothing new (issue 19): the
 * poll's own commands, as the server saw them (MONITOR between two markers, so nothing is counted
 * by time), for one poll run as a poll job runs it. No worker runs (no BullMQ traffic of its own):
 * the job's claim, the record read, the reschedule with its trigger, the poll mark and the release.
 * Nothing of the record is rewritten, while the view still shows the poll. And what such a poll
 * does not write is not lost: a pause or a "poll now" that comes while it polls still wins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import type { MailboxRecord } from '../../src/domain/mailboxes/service.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { RedisMonitor } from '../support/redis-monitor.js';

/** The most commands a kept, unchanged poll may send (their names are in the failure message). */
const MAX_COMMANDS = 6;

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', POLL_KEEP_SESSIONS_UNDER_SECONDS: '3600' }), () => sandbox.redis);
let monitor: RedisMonitor;
let proxy: ImapProxy;
beforeAll(async () => {
  monitor = await RedisMonitor.start(sandbox.redis.url);
  proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
});
afterAll(async () => {
  await monitor?.stop();
  await proxy?.stop();
});

/** A mailbox (through the proxy) polled twice already: its session is kept, its baseline taken. */
async function keptMailbox(email: string): Promise<{ mailbox: MailboxRecord; poll: () => Promise<string> }> {
  const connection = await t.deps.services.connections.create({
    name: 'commands', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
    clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
  });
  const mailbox = await t.deps.services.mailboxes.create({
    connectionId: connection.id, email, pollIntervalSeconds: 60, ...sandbox.mailServers(), imap: { host: '127.0.0.1', port: proxy.port, secure: true },
  });
  const { scheduler, cycle } = t.deps.polling;
  const poll = async (): Promise<string> => cycle.run(mailbox.id, (await scheduler.dueOf(mailbox.id))!);
  // The first poll logs in (token, session) and takes the baseline; the second is the first kept one.
  expect(await poll()).toBe('ok');
  expect(await poll()).toBe('ok');
  return { mailbox, poll };
}

describe('a kept poll of an unchanged mailbox', () => {
  it(`sends at most ${MAX_COMMANDS} Redis commands, rewrites nothing of the record, and shows in the view`, async () => {
    const { mailbox } = await keptMailbox('poll-commands@contoso.example');
    const { scheduler, cycle } = t.deps.polling;
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
    expect(await t.deps.redis.exists(t.deps.keys.pollLock(mailbox.id))).toBe(0);

    // The view shows the poll: lastPollAt from the poll marks, nextPollAt from the schedule.
    const next = (await scheduler.dueOf(mailbox.id))!;
    expect(next).toBe(due + 60_000);
    const view = await t.deps.services.mailboxes.get(mailbox.id);
    expect(Date.parse(view.lastPollAt!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(view.nextPollAt!)).toBe(next);
  });

  it('leaves a mailbox paused while it polled off the schedule, and a "poll now" made meanwhile in place', async () => {
    const { mailbox, poll } = await keptMailbox('poll-commands-pause@contoso.example');
    const { scheduler } = t.deps.polling;

    // Paused while its STATUS is held: the poll ends well, and the mailbox stays unscheduled.
    let status = proxy.hold('STATUS');
    let polling = poll();
    await status.reached;
    await t.deps.services.mailboxes.pause(mailbox.id);
    status.release();
    expect(await polling).toBe('ok');
    expect(await scheduler.dueOf(mailbox.id)).toBeUndefined();
    expect(await t.deps.services.mailboxes.get(mailbox.id)).toMatchObject({ state: 'paused', nextPollAt: null });
    await t.deps.services.mailboxes.resume(mailbox.id);
    expect(await poll()).toBe('ok');

    // "Poll now" while its STATUS is held: that due time stays, not the poll's next one.
    status = proxy.hold('STATUS');
    polling = poll();
    await status.reached;
    await scheduler.pollNow(mailbox.id);
    const asked = (await scheduler.dueOf(mailbox.id))!;
    status.release();
    expect(await polling).toBe('ok');
    expect(await scheduler.dueOf(mailbox.id)).toBe(asked);
    expect(Date.parse((await t.deps.services.mailboxes.get(mailbox.id)).nextPollAt!)).toBe(asked);
  });
});
