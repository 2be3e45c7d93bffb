/**
 * The per-client rate limit of the routes without an API key (the OAuth
 * callback and the sign-in start): each client gets `perClientPerMinute`
 * requests a minute, counted in Redis so the limit holds across API
 * processes. A client is an IPv4 address or an IPv6 /64
 * (rate-limit-subject.ts). Over the limit: a 429 page with Retry-After.
 * Redis unreachable: requests pass (the routes then answer 503 themselves).
 * The client address is Fastify's `request.ip`: set TRUST_PROXY when a
 * reverse proxy sits in front.
 *
 * The other limit, sign-ins started a minute in all, is spent by the sign-in
 * itself once a start is valid (domain/oauth/start-budget.ts), not here:
 * counted on every request, refused ones would use it up for everyone.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../../domain/oauth/start-budget.js';
import type { Logger } from '../../logging/logger.js';
import type { RateVerdict, RedisRateLimiter } from '../../store/rate-limiter.js';
import { errorPage } from '../pages/oauth-outcome.js';
import { sendPage } from '../pages/oauth-page.js';
import { rateLimitSubject } from './rate-limit-subject.js';

export interface PublicLimits {
  /** Requests a minute per client (an IPv4 address or an IPv6 /64); 0: unlimited. */
  perClientPerMinute: number;
}

const MINUTE_MS = 60_000;

export function publicRateLimit(limiter: Pick<RedisRateLimiter, 'hit'>, limits: PublicLimits, logger: Logger) {
  const hit = async (subject: string, limit: number): Promise<RateVerdict> =>
    limiter.hit('public', subject, limit, MINUTE_MS).catch((err: unknown) => {
      logger.warn({ err, limit: 'public' }, 'rate limit not checked (Redis unreachable): request let through');
      return { allowed: true, retryAfterMs: 0 };
    });

  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const limit = limits.perClientPerMinute;
    if (limit <= 0) return undefined;
    const verdict = await hit(rateLimitSubject(request.ip), limit);
    if (verdict.allowed) return undefined;
    request.log.info({ limit: 'public' }, 'public route rate limited');
    const refusal = rateLimited(`${limit} requests a minute from one address (an IPv6 /64 counts as one)`, verdict.retryAfterMs);
    reply.header('retry-after', String(refusal.fields.retryAfterSeconds));
    return sendPage(reply, errorPage(refusal, String(request.id)));
  };
}
