/**
 * Rate limits of the routes without an API key (the OAuth callback and the
 * sign-in start): each client address gets `perClientPerMinute` requests a
 * minute, and sign-ins start at most `signInStartsPerMinute` times a minute
 * in all, because each start stores a record for 10 minutes (a flood from
 * many addresses would otherwise fill Redis). Counted in Redis, so the
 * limits hold across API processes. Over a limit: a 429 page with
 * Retry-After. Redis unreachable: requests pass (the routes then answer 503
 * themselves). The client address is Fastify's `request.ip`: set
 * TRUST_PROXY when a reverse proxy sits in front.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { RateVerdict, RedisRateLimiter } from '../../store/rate-limiter.js';
import { errorPage } from '../pages/oauth-outcome.js';
import { sendPage } from '../pages/oauth-page.js';

export interface PublicLimits {
  /** Requests a minute per client address; 0: unlimited. */
  perClientPerMinute: number;
  /** Sign-in starts a minute in all; 0: unlimited. */
  signInStartsPerMinute: number;
}

const MINUTE_MS = 60_000;

export function publicRateLimit(limiter: Pick<RedisRateLimiter, 'hit'>, limits: PublicLimits, logger: Logger) {
  const hit = async (name: string, subject: string, limit: number): Promise<RateVerdict> =>
    limiter.hit(name, subject, limit, MINUTE_MS).catch((err: unknown) => {
      logger.warn({ err, limit: name }, 'rate limit not checked (Redis unreachable): request let through');
      return { allowed: true, retryAfterMs: 0 };
    });

  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const checks: [name: string, subject: string, limit: number, what: string][] = [];
    if (limits.perClientPerMinute > 0) checks.push(['public', request.ip, limits.perClientPerMinute, `${limits.perClientPerMinute} requests a minute from one address`]);
    if (limits.signInStartsPerMinute > 0 && request.routeOptions.url?.endsWith('/login')) {
      checks.push(['sign-in-starts', 'all', limits.signInStartsPerMinute, `${limits.signInStartsPerMinute} sign-ins started a minute`]);
    }
    for (const [name, subject, limit, what] of checks) {
      const verdict = await hit(name, subject, limit);
      if (verdict.allowed) continue;
      const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
      request.log.info({ limit: name }, 'public route rate limited');
      reply.header('retry-after', String(seconds));
      return sendPage(reply, errorPage(new AppError('rate_limited', `Too many requests: this service allows ${what}.`, {
        hint: `Try again in ${seconds} seconds.`,
      }), String(request.id)));
    }
    return undefined;
  };
}
