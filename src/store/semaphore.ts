/**
 * A counting semaphore in Redis: at most `limit` holders at once per key, each
 * holding a lease that expires by itself (a crashed holder frees its slot).
 * Holders live in a sorted set scored by lease expiry.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from '../adapters/redis/redis.js';

// KEYS[1] holders; ARGV: now, lease expiry, holder, limit, key ttl (ms)
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

export interface Permit {
  key: string;
  holder: string;
}

export class RedisSemaphore {
  constructor(private readonly redis: Redis, private readonly now: () => number = Date.now) {}

  async acquire(key: string, limit: number, leaseMs: number): Promise<Permit | undefined> {
    const holder = randomBytes(9).toString('base64url');
    const now = this.now();
    const ok = await this.redis.eval(ACQUIRE, 1, key, String(now), String(now + leaseMs), holder, String(limit), String(leaseMs * 2));
    return ok === 1 ? { key, holder } : undefined;
  }

  async release(permit: Permit): Promise<void> {
    await this.redis.zrem(permit.key, permit.holder);
  }
}
