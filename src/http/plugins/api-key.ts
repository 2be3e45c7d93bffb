/**
 * Bearer API keys for /v1, and their scopes (config/api-keys.ts). Keys are
 * compared in constant time: the presented key and every configured key are
 * hashed to equal-length digests and all of them are compared, whether or not
 * an earlier one matched. A route names the scope it needs in its config
 * (`config: { scope: 'send' }`); one that names none needs `admin`.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKey, ApiKeyScope } from '../../config/api-keys.js';
import { ForbiddenError, UnauthorizedError } from '../../errors/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The API key scope this route needs; `admin` when absent. */
    scope?: ApiKeyScope;
  }
}

// One-shot hashing: no Hash object per request.
const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

/** The configured key the header presents, if any. */
export function createApiKeyCheck(keys: readonly ApiKey[]): (header: string | undefined) => ApiKey | undefined {
  const digests = keys.map(({ key }) => digest(key));
  return (header) => {
    const match = /^Bearer[ ]+(\S{1,512})\s*$/i.exec(header ?? '');
    const presented = digest(match?.[1] ?? '');
    let found: ApiKey | undefined;
    digests.forEach((candidate, i) => {
      if (timingSafeEqual(candidate, presented)) found = keys[i];
    });
    return match === null ? undefined : found;
  };
}

/** Whether a request presents a key with `scope`, for a public route that shows a key holder more (/health/ready). */
export function presentsScope(keys: readonly ApiKey[], scope: ApiKeyScope): (request: FastifyRequest) => boolean {
  const check = createApiKeyCheck(keys);
  return (request) => check(request.headers.authorization)?.scopes.has(scope) === true;
}

/** The onRequest hook: 401 without a valid key, 403 when the key lacks the route's scope (or `scope`, when given). */
export function apiKeyHook(keys: readonly ApiKey[], scope?: ApiKeyScope) {
  const check = createApiKeyCheck(keys);
  // A callback hook, not an async one: no promise per request on the hottest path.
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    const key = check(request.headers.authorization);
    if (!key) {
      done(new UnauthorizedError(
        request.headers.authorization === undefined
          ? 'Missing API key: send Authorization: Bearer <key>.'
          : 'The API key is not valid.',
      ));
      return;
    }
    // An unknown path is a 404 whatever the key's scopes.
    const needed = scope ?? request.routeOptions.config.scope ?? 'admin';
    if (request.is404 || key.scopes.has(needed)) return done();
    done(new ForbiddenError(needed));
  };
}
