/**
 * Fixed-window request counters in Redis, shared by every API process: a
 * key per subject (a client address, or "all") and window, counted with
 * INCR and expiring with its window. Redis being down lets requests through
 * (the routes behind it need Redis anyway and answer 503 there).
 */
import type { Redis } from '../adapters/redis/redis.js';
import { LuaScript } from './lua-script.js';

// KEYS: counter; ARGV: window ms. The first hit of a window starts its expiry.
const HIT = new LuaScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`);

export interface RateVerdict {
  allowed: boolean;
  /** Until the window ends (ms); 0 when allowed. */
  retryAfterMs: number;
}

export class RedisRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (name: string) => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `subject` under `name`; allowed while the window's count is within `limit`. */
  async hit(name: string, subject: string, limit: number, windowMs: number): Promise<RateVerdict> {
    const at = this.now();
    const windowStart = Math.floor(at / windowMs) * windowMs;
    const count = Number(await HIT.run(this.redis, [this.keyOf(`${name}:${windowStart}:${subject}`)], [windowMs]));
    return count <= limit ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: windowStart + windowMs - at };
  }
}
