/** The Redis lock and semaphore that keep workers from stepping on each other. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { RedisLock } from '../../src/store/lock.js';
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
    const a = await lock.acquire('lock:a', 200);
    expect(a).toBeDefined();
    expect(await lock.acquire('lock:a', 200)).toBeUndefined();
    expect(await lock.release({ key: 'lock:a', token: 'someone-else' })).toBe(false);
    expect(await lock.isHeld('lock:a')).toBe(true);
    await new Promise((r) => setTimeout(r, 250));
    const b = await lock.acquire('lock:a', 1000);
    expect(b).toBeDefined();
    expect(await lock.release(a!)).toBe(false); // a's lease expired: it cannot free b's
    expect(await lock.release(b!)).toBe(true);
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
