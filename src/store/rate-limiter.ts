/**
 * Sliding-window request counters in Redis, shared by every API process.
 * Each subject (a client address, or "all") has a counter per fixed window;
 * a request is allowed while the previous window's count, weighted by the
 * share of it still inside the sliding window, plus this window's count stays
 * within the limit. A fixed window alone let a client send twice the limit
 * across a window's edge; this estimate keeps any window-long span near the
 * limit. Only allowed requests are counted, so a refused client is let in
 * again as soon as the estimate allows. Redis being down lets requests
 * through (the routes behind it need Redis anyway and answer 503 there).
 */
import type { Redis } from '../adapters/redis/redis.js';
import { LuaScript } from './lua-script.js';

// Counts one request if the sliding window has room (store/lua/rate-window-hit-2.lua).
const HIT = new LuaScript('rate-window-hit-2');

export interface RateVerdict {
  allowed: boolean;
  /** Until one more request would be allowed (ms); 0 when allowed. */
  retryAfterMs: number;
}

/**
 * How long until one more request fits, `elapsed` ms into a window holding `current` requests
 * after one that held `previous`: later in this window, as the previous one's weight shrinks,
 * or else in the next one, where this window's count becomes the previous one.
 */
export function retryAfterMs(limit: number, windowMs: number, elapsed: number, current: number, previous: number): number {
  if (current + 1 <= limit && previous > 0) {
    const at = windowMs * (1 - (limit - 1 - current) / previous);
    if (at < windowMs) return Math.max(0, Math.ceil(at - elapsed));
  }
  const intoNext = current + 1 <= limit || current === 0 ? 0 : windowMs * (1 - (limit - 1) / current);
  return Math.ceil(windowMs - elapsed + Math.max(0, intoNext));
}

export class RedisRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (name: string) => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `subject` under `name` if the sliding window has room for it within `limit`. */
  async hit(name: string, subject: string, limit: number, windowMs: number): Promise<RateVerdict> {
    const at = this.now();
    const windowStart = Math.floor(at / windowMs) * windowMs;
    const elapsed = at - windowStart;
    const counter = (start: number): string => this.keyOf(`{${name}:${subject}}:${start}`);
    const [allowed, current, previous] = (await HIT.run(this.redis, [counter(windowStart), counter(windowStart - windowMs)], [
      limit, 1 - elapsed / windowMs, windowMs,
    ])) as [number, number, number];
    return allowed === 1 ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: retryAfterMs(limit, windowMs, elapsed, current, previous) };
  }
}
