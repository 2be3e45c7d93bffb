/**
 * A Redis lock with an owner token: SET NX PX to take it, a compare-and-delete
 * script to release only one's own. Used for single-flight work across
 * processes (one token request per connection, one poll per mailbox).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from '../adapters/redis/redis.js';

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface Lease {
  key: string;
  token: string;
}

export class RedisLock {
  constructor(private readonly redis: Redis) {}

  async acquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const token = randomBytes(12).toString('base64url');
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? { key, token } : undefined;
  }

  async release(lease: Lease): Promise<boolean> {
    return (await this.redis.eval(RELEASE, 1, lease.key, lease.token)) === 1;
  }

  async isHeld(key: string): Promise<boolean> {
    return (await this.redis.exists(key)) === 1;
  }
}
