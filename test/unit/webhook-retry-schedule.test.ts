/** The retry schedule: doubling with a cap, jitter that only adds, and the attempt count the window implies. */
import { describe, expect, it } from 'vitest';
import { JITTER, maxAttempts, nominalDelayMs, retryDelayMs, shouldGiveUp } from '../../src/domain/webhooks/retry-schedule.js';

const DEFAULTS = { baseDelayMs: 5_000, maxDelayMs: 3_600_000, windowMs: 86_400_000 };

describe('retry schedule', () => {
  it('doubles from 5 s and stops at 1 h', () => {
    const delays = Array.from({ length: 13 }, (_, i) => nominalDelayMs(DEFAULTS, i + 1) / 1000);
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]);
  });

  it('gives 34 attempts by default, the last at least 24 h after the first', () => {
    const attempts = maxAttempts(DEFAULTS);
    expect(attempts).toBe(34);
    const span = Array.from({ length: attempts - 1 }, (_, i) => nominalDelayMs(DEFAULTS, i + 1)).reduce((a, b) => a + b, 0);
    expect(span).toBe(87_915_000);
    expect(span).toBeGreaterThanOrEqual(DEFAULTS.windowMs);
    // One attempt fewer would not cover the window.
    expect(span - nominalDelayMs(DEFAULTS, attempts - 1)).toBeLessThan(DEFAULTS.windowMs);
  });

  it('adds up to 25 % jitter, never less than the nominal delay', () => {
    expect(retryDelayMs(DEFAULTS, 3, () => 0)).toBe(20_000);
    expect(retryDelayMs(DEFAULTS, 3, () => 0.999)).toBeLessThanOrEqual(20_000 * (1 + JITTER));
    for (let i = 0; i < 100; i++) {
      const d = retryDelayMs(DEFAULTS, 12);
      expect(d).toBeGreaterThanOrEqual(3_600_000);
      expect(d).toBeLessThanOrEqual(4_500_000);
    }
  });

  it('gives up after the last attempt, or at any failure after three windows', () => {
    const now = 1_000_000_000;
    expect(shouldGiveUp(DEFAULTS, { failedAttempts: 33, since: now - 1000, now })).toBe(false);
    expect(shouldGiveUp(DEFAULTS, { failedAttempts: 34, since: now - 1000, now })).toBe(true);
    expect(shouldGiveUp(DEFAULTS, { failedAttempts: 2, since: now - 3 * DEFAULTS.windowMs, now })).toBe(true);
  });

  it('follows small test settings', () => {
    const fast = { baseDelayMs: 10, maxDelayMs: 20, windowMs: 40 };
    expect(maxAttempts(fast)).toBe(4); // delays 10, 20, 20 → 50 ≥ 40
    expect(maxAttempts({ ...fast, windowMs: 0 })).toBe(1);
  });
});
