/**
 * buildApp(deps): the Fastify instance with every option and plugin, and the
 * route plugins of every capability (container.ts assembles them). It builds
 * no service, never listens and opens nothing itself: tests, production and
 * the OpenAPI generator all build it from the dependencies they made.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import type { Logger } from './logging/logger.js';
import { apiKeyHook } from './http/plugins/api-key.js';
import { answerFrameworkError, installErrorHandling } from './http/plugins/errors.js';
import { installOpenApi } from './http/plugins/openapi.js';
import { checkPathIds, requirePathIds } from './http/plugins/path-ids.js';
import { installValidation, refuseUnknownQuery } from './http/plugins/validation.js';
import { Problem } from './http/schemas/problem.js';
import type { Capability } from './wiring/capability.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  /** Their routes are registered in this order (container.ts lists them). */
  capabilities: readonly Pick<Capability, 'routes'>[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const hopsTrusted = (hops: number) => (_address: string, hop: number): boolean => hop < hops;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.http.bodyLimitBytes,
    requestTimeout: config.http.requestTimeoutMs,
    // A hop count as proxy-addr reads it: trust the first `n` hops.
    trustProxy: typeof config.http.trustProxy === 'number' ? hopsTrusted(config.http.trustProxy) : config.http.trustProxy,
    // Take a caller's request id when it is tame, else make one.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // A bad %-escape or an overlong path parameter: a problem document like every other error.
    frameworkErrors: answerFrameworkError,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // One access line per request, written when it is answered (below), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ req: request, res: { statusCode: reply.statusCode }, responseTime: Math.round(reply.elapsedTime * 10) / 10 }, 'request completed');
    done();
  });
  // Set first thing, so every answer carries it, a refused API key's and a 404's too.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  installValidation(app);
  // Every route declares the kind of each id in its path (http/plugins/path-ids.ts), or the app does not start.
  app.addHook('onRoute', requirePathIds);
  installErrorHandling(app);
  app.addSchema(Problem);
  await installOpenApi(app);
  const { capabilities } = deps;
  for (const { routes } of capabilities) if (routes.root) await app.register(routes.root);
  await app.register(async (v1) => {
    v1.addHook('onRequest', apiKeyHook(config.apiKeys));
    // A query parameter no route declares is refused, as an unknown body field is.
    v1.addHook('onRoute', refuseUnknownQuery);
    // An id of another shape is a 404 before the handler: it never becomes a Redis key.
    v1.addHook('preHandler', checkPathIds);
    for (const { routes } of capabilities) if (routes.api) await v1.register(routes.api);
  }, { prefix: '/v1' });
  // Browsers reach the OAuth callback and the sign-in start without an API key: a sibling
  // scope, outside the hook above, and documented with `security: []`.
  for (const { routes } of capabilities) if (routes.public) await app.register(routes.public, { prefix: '/v1' });
  return app;
}
