/**
 * When a failed delivery is tried again, and when it is given up: pure
 * functions of the retry settings.
 *
 * The delay after the n-th failed attempt is `base · 2^(n-1)`, capped at
 * `max`, then stretched by a random 0–25 %. Doubling reaches a long outage's
 * scale in a few steps without hammering an endpoint that is briefly down;
 * the cap keeps a recovered endpoint from waiting more than an hour; the
 * jitter only ever *adds* time, so deliveries that failed together during an
 * outage come back spread out instead of in one burst, and the retry window
 * below stays a lower bound.
 *
 * The attempt count is derived, not configured: the smallest number of
 * attempts whose nominal delays add up to the retry window. With the defaults
 * (5 s doubling to 1 h, window 24 h):
 *
 *   delays 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560 s   (sum 5 115 s ≈ 85 min)
 *   then 23 × 3 600 s                                      (sum 82 800 s = 23 h)
 *   → 34 attempts; the last one at least 87 915 s ≈ 24 h 25 min after the first
 *     (up to ≈ 29 h with jitter).
 *
 * A delivery may wait longer than its schedule (an unhealthy endpoint is
 * paced, a busy one queues), never shorter. So that a delivery to an endpoint
 * that stays dead for days still ends, it is also given up at its first
 * failure after `3 × window` (72 h by default).
 */

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  windowMs: number;
}

/** The largest share of a delay added at random. */
export const JITTER = 0.25;
/** After this many windows, a delivery is given up at its next failure whatever its attempt count. */
export const MAX_AGE_WINDOWS = 3;

/** The nominal delay (no jitter) after the n-th failed attempt, n ≥ 1. */
export function nominalDelayMs(policy: RetryPolicy, failedAttempts: number): number {
  const exponent = Math.min(Math.max(failedAttempts - 1, 0), 52);
  return Math.min(policy.baseDelayMs * 2 ** exponent, policy.maxDelayMs);
}

/** The delay after the n-th failed attempt, with jitter; `random` returns [0, 1). */
export function retryDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number = Math.random): number {
  const nominal = nominalDelayMs(policy, failedAttempts);
  return Math.round(nominal * (1 + JITTER * random()));
}

/** How many attempts a delivery gets: the first, plus retries until their nominal delays cover the window. */
export function maxAttempts(policy: RetryPolicy): number {
  let attempts = 1;
  let elapsed = 0;
  while (elapsed < policy.windowMs) {
    elapsed += nominalDelayMs(policy, attempts);
    attempts += 1;
  }
  return attempts;
}

export interface GiveUpInput {
  /** Failed attempts since the delivery was created or last retried by hand. */
  failedAttempts: number;
  /** When the delivery was created or last retried by hand (ms). */
  since: number;
  now: number;
}

/** True when a delivery that just failed must not be tried again. */
export function shouldGiveUp(policy: RetryPolicy, input: GiveUpInput): boolean {
  if (input.failedAttempts >= maxAttempts(policy)) return true;
  return input.now - input.since >= MAX_AGE_WINDOWS * policy.windowMs;
}
