/**
 * Bearer API keys for /v1. Keys are compared in constant time: the presented
 * key and every configured key are hashed to equal-length digests and all of
 * them are compared, whether or not an earlier one matched.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../errors/errors.js';

// One-shot hashing: no Hash object per request.
const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

export function createApiKeyCheck(keys: readonly string[]): (header: string | undefined) => boolean {
  const digests = keys.map(digest);
  return (header) => {
    const match = /^Bearer[ ]+(\S{1,512})\s*$/i.exec(header ?? '');
    const presented = digest(match?.[1] ?? '');
    let ok = false;
    for (const candidate of digests) ok = timingSafeEqual(candidate, presented) || ok;
    return ok && match !== null;
  };
}

export function apiKeyHook(keys: readonly string[]) {
  const check = createApiKeyCheck(keys);
  // A callback hook, not an async one: no promise per request on the hottest path.
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    if (check(request.headers.authorization)) return done();
    done(new UnauthorizedError(
      request.headers.authorization === undefined
        ? 'Missing API key: send Authorization: Bearer <key>.'
        : 'The API key is not valid.',
    ));
  };
}
