/**
 * A counting semaphore in Redis: at most `limit` holders at once per key, each
 * holding a lease that expires by itself (a crashed holder frees its slot).
 * Holders live in a sorted set scored by lease expiry.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from '../adapters/redis/redis.js';
import { LuaScript } from './lua-script.js';

const ACQUIRE = new LuaScript('semaphore-acquire-1');

export interface Permit {
  key: string;
  holder: string;
}

export class RedisSemaphore {
  constructor(private readonly redis: Redis, private readonly now: () => number = Date.now) {}

  async acquire(key: string, limit: number, leaseMs: number): Promise<Permit | undefined> {
    const holder = randomBytes(9).toString('base64url');
    const now = this.now();
    const ok = await this.redis.eval(ACQUIRE.source, 1, key, String(now), String(now + leaseMs), holder, String(limit), String(leaseMs * 2));
    return ok === 1 ? { key, holder } : undefined;
  }

  async release(permit: Permit): Promise<void> {
    await this.redis.zrem(permit.key, permit.holder);
  }
}
