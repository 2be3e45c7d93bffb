/** The Redis lock and semaphore that keep workers from stepping on each other. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { RedisLock } from '../../src/store/lock.js';
import { RedisConnectionSlots } from '../../src/store/connection-slots.js';
import { RedisSemaphore } from '../../src/store/semaphore.js';

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

describe('RedisLock', () => {
  it('admits one holder, releases only its own, and expires', async () => {
    const lock = new RedisLock(redis);
    // A lease far longer than the checks take, however busy the machine; its end is then brought
    // forward in Redis itself and awaited, instead of sleeping past a guessed instant.
    const a = await lock.acquire('lock:a', 60_000);
    expect(a).toBeDefined();
    expect(await lock.acquire('lock:a', 60_000)).toBeUndefined();
    expect(await lock.release({ key: 'lock:a', token: 'someone-else' })).toBe(false);
    expect(await lock.isHeld('lock:a')).toBe(true);
    await redis.pexpire('lock:a', 1);
    while (await lock.isHeld('lock:a')) await new Promise((r) => setImmediate(r));
    const b = await lock.acquire('lock:a', 1000);
    expect(b).toBeDefined();
    expect(await lock.release(a!)).toBe(false); // a's lease expired: it cannot free b's
    expect(await lock.release(b!)).toBe(true);
  });
});

describe('RedisLock.keep', () => {
  it('keeps a lease alive past its TTL while the work runs, and lets it lapse once the holder stops', async () => {
    const lock = new RedisLock(redis);
    const lease = (await lock.acquire('lock:kept', 300))!;
    const kept = lock.keep(lease, 300);
    await new Promise((r) => setTimeout(r, 900)); // three TTLs
    expect(await lock.isHeld('lock:kept')).toBe(true);
    expect(kept.isLost()).toBe(false);
    expect(await lock.acquire('lock:kept', 300)).toBeUndefined();
    kept.stop(); // as a dead process would
    await new Promise((r) => setTimeout(r, 400));
    expect(await lock.isHeld('lock:kept')).toBe(false);
    expect(await lock.acquire('lock:kept', 300)).toBeDefined();
  });

  it('says the lease is lost when another holder has it, and does not extend another\'s lease', async () => {
    const lock = new RedisLock(redis);
    const lease = (await lock.acquire('lock:stolen', 300))!;
    const kept = lock.keep(lease, 300);
    await redis.set('lock:stolen', 'someone-else', 'PX', 5_000); // e.g. the key was lost in a Redis restart and retaken
    await Promise.race([kept.lost, new Promise((_, reject) => setTimeout(() => reject(new Error('not told')), 1_000))]);
    expect(kept.isLost()).toBe(true);
    expect(await lock.extend(lease, 10_000)).toBe(false);
    expect(await redis.pttl('lock:stolen')).toBeLessThanOrEqual(5_000);
    kept.stop();
  });

  it('keeps the lease through a Redis outage, and takes it again if it lapsed meanwhile and is free', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    down.on('error', () => undefined);
    const unreachable = new RedisLock(down).keep({ key: 'lock:x', token: 't' }, 200);
    await new Promise((r) => setTimeout(r, 600)); // three TTLs without an answer
    expect(unreachable.isLost()).toBe(false);
    unreachable.stop();
    down.disconnect();

    const lock = new RedisLock(redis);
    const lease = { key: 'lock:lapsed', token: 'mine' }; // as if it had lapsed during an outage
    expect(await lock.isHeld('lock:lapsed')).toBe(false);
    expect(await lock.extend(lease, 5_000)).toBe(true);
    expect(await redis.get('lock:lapsed')).toBe('mine');
    expect(await lock.acquire('lock:lapsed', 1_000)).toBeUndefined();
  });
});

describe('RedisSemaphore', () => {
  it('admits at most `limit` holders, frees on release and on lease expiry', async () => {
    const sem = new RedisSemaphore(redis);
    const permits = await Promise.all(Array.from({ length: 5 }, () => sem.acquire('sem:t', 2, 300)));
    expect(permits.filter(Boolean)).toHaveLength(2);
    await sem.release(permits.find(Boolean)!);
    expect(await sem.acquire('sem:t', 2, 300)).toBeDefined();
    expect(await sem.acquire('sem:t', 2, 300)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 350));
    expect(await sem.acquire('sem:t', 2, 300)).toBeDefined();
  });
});

describe('RedisConnectionSlots', () => {
  it('gives at most `limit` slots of a mailbox, all or none per holder, renewed while held, free again when given back or lapsed', async () => {
    let now = 1_000_000;
    const slots = new RedisConnectionSlots(redis, (id) => `slots:${id}`, { limit: 3, leaseMs: 10_000 }, () => now);
    const a = await slots.take('mbx_a', 2);
    expect(a).toBeDefined();
    // Two more would make four: none of them is taken.
    expect(await slots.take('mbx_a', 2)).toBeUndefined();
    expect(await redis.zcard('slots:mbx_a')).toBe(2);
    const b = await slots.take('mbx_a', 1);
    expect(b).toBeDefined();
    expect(await slots.take('mbx_a', 1)).toBeUndefined();
    // Another mailbox has slots of its own.
    expect(await slots.take('mbx_b', 3)).toBeDefined();

    // Renewed, a's lease outlives its first expiry; b's, not renewed, lapses and its slot is taken.
    now += 8_000;
    expect(await a!.renew()).toBe(true);
    now += 4_000;
    const c = await slots.take('mbx_a', 1);
    expect(c).toBeDefined();
    expect(await b!.renew()).toBe(false);
    expect(await redis.zcard('slots:mbx_a')).toBe(3);

    await a!.release();
    expect(await redis.zcard('slots:mbx_a')).toBe(1);
    expect(await slots.take('mbx_a', 2)).toBeDefined();
  });
});
