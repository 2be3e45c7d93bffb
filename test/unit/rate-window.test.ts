/** The sliding window's Retry-After: the first moment one more request fits, checked against the estimate itself. */
import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../src/store/rate-limiter.js';

/** The estimate the limiter allows on: the previous window weighted by its share still inside, plus this one. */
const estimate = (windowMs: number, elapsed: number, current: number, previous: number) => previous * (1 - elapsed / windowMs) + current;

/** The estimate `t` ms after `elapsed`, with no more requests allowed meanwhile. */
function estimateAfter(t: number, windowMs: number, elapsed: number, current: number, previous: number): number {
  const at = elapsed + t;
  return at < windowMs ? estimate(windowMs, at, current, previous) : estimate(windowMs, at - windowMs, 0, current);
}

describe('retryAfterMs', () => {
  const cases: [limit: number, elapsed: number, current: number, previous: number][] = [
    [60, 0, 60, 0], [60, 30_000, 60, 60], [60, 10_000, 20, 60], [60, 59_000, 59, 60], [5, 1_000, 0, 10], [1, 0, 1, 1], [600, 45_000, 600, 0],
  ];
  it.each(cases)('limit %i, %i ms in, %i now, %i before: one more fits then, not a second earlier', (limit, elapsed, current, previous) => {
    const windowMs = 60_000;
    expect(estimate(windowMs, elapsed, current, previous) + 1).toBeGreaterThan(limit); // a refused request
    const wait = retryAfterMs(limit, windowMs, elapsed, current, previous);
    expect(wait).toBeGreaterThan(0);
    expect(estimateAfter(wait, windowMs, elapsed, current, previous) + 1).toBeLessThanOrEqual(limit + 1e-9);
    expect(estimateAfter(wait - 1_000, windowMs, elapsed, current, previous) + 1).toBeGreaterThan(limit);
  });
});
