/**
 * The Redis side of a poll's claim and record (issue 19), against a real Redis: the claim takes
 * the poll lock only for a trigger that is still the due time; a poll's reschedule moves only its
 * own trigger; the poll marks are written only while the mailbox exists.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { newId } from '../../src/domain/ids.js';
import { createKeySpace } from '../../src/store/keys.js';
import { PollLocks } from '../../src/store/poll-claim.js';
import { PollMarks } from '../../src/store/poll-marks.js';
import { PollSchedule } from '../../src/store/poll-schedule.js';

let sandbox: SandboxRedis;
let redis: Redis;

beforeAll(async () => {
  sandbox = await startRedis();
  redis = new Redis(sandbox.url);
});
afterAll(async () => {
  redis?.disconnect();
  await sandbox?.stop();
});

const keySpace = () => createKeySpace(`poll-store-${newId('mbx').slice(4, 12)}`);

describe('PollLocks.claim', () => {
  it('takes the lock for the due trigger only: busy while held, stale (and no lock) for another due time', async () => {
    const keys = keySpace();
    const schedule = new PollSchedule(redis, keys);
    const locks = new PollLocks(redis, keys);
    const id = newId('mbx');
    await schedule.schedule(id, 1_000, 60_000);

    expect(await locks.claim(id, 999, 15_000)).toBe('stale');
    expect(await redis.exists(keys.pollLock(id))).toBe(0);

    const lease = await locks.claim(id, 1_000, 15_000);
    expect(lease).toMatchObject({ key: keys.pollLock(id) });
    expect(await redis.get(keys.pollLock(id))).toBe((lease as { token: string }).token);
    const ttl = await redis.pttl(keys.pollLock(id));
    expect(ttl).toBeGreaterThan(10_000);
    expect(ttl).toBeLessThanOrEqual(15_000);
    expect(await locks.claim(id, 1_000, 15_000)).toBe('busy');

    expect(await locks.release(lease as { key: string; token: string })).toBe(true);
    expect(await locks.claim(id, 1_000, 15_000)).toMatchObject({ key: keys.pollLock(id) });

    // A mailbox taken off the schedule (paused, deleted): every trigger is stale.
    const gone = newId('mbx');
    expect(await locks.claim(gone, 1_000, 15_000)).toBe('stale');
    expect(await redis.exists(keys.pollLock(gone))).toBe(0);
  });
});

describe('PollLocks.claimThenRead', () => {
  it('reads after the claim, sent with it; again when the claim had to load its script; never without the lock', async () => {
    const keys = keySpace();
    const schedule = new PollSchedule(redis, keys);
    const locks = new PollLocks(redis, keys);
    const id = newId('mbx');
    await schedule.schedule(id, 1_000, 60_000);
    const counter = `${keys.prefix}:reads`;
    const read = () => redis.incr(counter);

    // Redis runs the read after the claim: the one read answers.
    const first = await locks.claimThenRead(id, 1_000, 15_000, read);
    expect(first.claim).toMatchObject({ key: keys.pollLock(id) });
    expect(first.value).toBe(1);
    expect(await locks.claimThenRead(id, 1_000, 15_000, read)).toEqual({ claim: 'busy' });
    await locks.release(first.claim as { key: string; token: string });

    // Scripts flushed (a Redis restart): the claim goes as source after the read, which is sent again.
    await redis.script('FLUSH');
    const reloaded = await locks.claimThenRead(id, 1_000, 15_000, read);
    expect(reloaded.claim).toMatchObject({ key: keys.pollLock(id) });
    expect(reloaded.value).toBe(4);
    await locks.release(reloaded.claim as { key: string; token: string });

    // A failed read gives the lock back.
    await expect(locks.claimThenRead(id, 1_000, 15_000, () => Promise.reject(new Error('read failed')))).rejects.toThrow('read failed');
    expect(await redis.exists(keys.pollLock(id))).toBe(0);
    expect(await locks.claimThenRead(id, 999, 15_000, read)).toEqual({ claim: 'stale' });
  });
});

describe('PollSchedule.reschedule', () => {
  it('moves the running trigger to the next due time, and leaves a due time someone else set', async () => {
    const keys = keySpace();
    const schedule = new PollSchedule(redis, keys);
    const id = newId('mbx');
    await schedule.schedule(id, 1_000, 60_000);
    await schedule.overdueCount(); // builds the overdue index, which the reschedule then keeps

    expect(await schedule.reschedule(id, 1_000, 61_000, 60_000)).toBe(true);
    expect(await schedule.dueOf(id)).toBe(61_000);
    expect(Number(await redis.zscore(keys.pollOverdueAt(keys.pollShardOf(id)), id))).toBe(121_000);

    // "Poll now" (or a resume) came while the poll ran: its due time stays.
    await schedule.schedule(id, 5_000, 60_000);
    expect(await schedule.reschedule(id, 61_000, 121_000, 60_000)).toBe(false);
    expect(await schedule.dueOf(id)).toBe(5_000);

    // Paused or deleted while the poll ran: it stays off the schedule.
    await schedule.unschedule(id);
    expect(await schedule.reschedule(id, 5_000, 65_000, 60_000)).toBe(false);
    expect(await schedule.dueOf(id)).toBeUndefined();
    expect(await redis.zscore(keys.pollOverdueAt(keys.pollShardOf(id)), id)).toBeNull();
  });

  it('answers the due times of many mailboxes, one read per shard', async () => {
    const keys = keySpace();
    const schedule = new PollSchedule(redis, keys);
    const [a, b, c] = [newId('mbx'), newId('mbx'), newId('mbx')];
    await schedule.schedule(a, 1_000, 60_000);
    await schedule.schedule(c, 3_000, 60_000);
    expect(await schedule.duesOf([a, b, c])).toEqual([1_000, undefined, 3_000]);
    expect(await schedule.duesOf([])).toEqual([]);
  });
});

describe('PollMarks', () => {
  it('notes the last poll of a mailbox that exists, not of one deleted meanwhile, and forgets it', async () => {
    const keys = keySpace();
    const marks = new PollMarks(redis, keys);
    const [kept, deleted] = [newId('mbx'), newId('mbx')];
    await redis.set(keys.mailbox(kept), '{}');
    await marks.mark(kept, 1_700_000_000_000);
    await marks.mark(deleted, 1_700_000_000_000);
    expect(await marks.lastAt([kept, deleted])).toEqual([1_700_000_000_000, undefined]);
    expect(await redis.hlen(keys.pollLastAt())).toBe(1);
    await marks.remove(kept);
    expect(await marks.lastAt([kept])).toEqual([undefined]);
  });
});
