/**
 * SIGN_IN_STARTS_PER_MINUTE: how many sign-ins may start a minute in all,
 * because each start stores a record for 10 minutes (a flood from many
 * addresses would otherwise fill Redis). Only valid starts spend it: the
 * sign-in calls `admit` after the connection and returnTo have passed, so
 * requests that would store nothing (an unknown connection, a refused
 * returnTo) cannot use up everyone's budget. Counted in Redis across API
 * processes; Redis unreachable lets the start through (storing its record
 * then fails on its own).
 */
import { AppError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { RedisRateLimiter } from '../../store/rate-limiter.js';

const MINUTE_MS = 60_000;

/** The `rate_limited` error of a 429 answer; `retryAfterSeconds` becomes its Retry-After. */
export function rateLimited(allowed: string, retryAfterMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError('rate_limited', `Too many requests: this service allows ${allowed}.`, {
    hint: `Try again in ${seconds} seconds.`,
    fields: { retryAfterSeconds: seconds },
  });
}

/** `admit` for SignIn, or undefined when `perMinute` is 0 (unlimited). */
export function signInStartBudget(limiter: Pick<RedisRateLimiter, 'hit'>, perMinute: number, logger: Logger): (() => Promise<void>) | undefined {
  if (perMinute <= 0) return undefined;
  return async () => {
    const verdict = await limiter.hit('sign-in-starts', 'all', perMinute, MINUTE_MS).catch((err: unknown) => {
      logger.warn({ err, limit: 'sign-in-starts' }, 'rate limit not checked (Redis unreachable): request let through');
      return { allowed: true, retryAfterMs: 0 };
    });
    if (verdict.allowed) return;
    logger.info({ limit: 'sign-in-starts' }, 'public route rate limited');
    throw rateLimited(`${perMinute} sign-ins started a minute`, verdict.retryAfterMs);
  };
}
