/**
 * buildApp(deps): the Fastify instance with every option, plugin and route.
 * It never listens and opens nothing itself: tests and production both build
 * it from the dependencies they made.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import type { MsalGateway } from './adapters/msal/gateway.js';
import { doctorMailServers, messagePorts } from './adapters/mail-ports.js';
import type { ConnectionService } from './domain/connections/service.js';
import { verifyConnection } from './domain/doctor/verify-connection.js';
import { diagnoseMailbox } from './domain/doctor/diagnose-mailbox.js';
import type { MailboxTokens } from './domain/mailboxes/mailbox-tokens.js';
import type { MailboxService } from './domain/mailboxes/service.js';
import type { TokenService } from './domain/tokens/token-service.js';
import type { Logger } from './logging/logger.js';
import { apiKeyHook, presentsScope } from './http/plugins/api-key.js';
import { answerFrameworkError, installErrorHandling } from './http/plugins/errors.js';
import { installOpenApi } from './http/plugins/openapi.js';
import { checkPathIds, requirePathIds } from './http/plugins/path-ids.js';
import { installValidation } from './http/plugins/validation.js';
import { connectionRoutes } from './http/routes/connections.js';
import { mailboxRoutes } from './http/routes/mailboxes.js';
import { mailboxPollingRoutes } from './http/routes/mailbox-polling.js';
import { mailboxSummaryRoute } from './http/routes/mailbox-summary.js';
import type { MailboxSummaryT } from './domain/mailboxes/summary.js';
import type { PollScheduler } from './jobs/polling/scheduler.js';
import { mailboxDoctorRoutes } from './http/routes/mailbox-doctor.js';
import { mailboxMessageRoutes } from './http/routes/mailbox-messages.js';
import { MessageReader } from './domain/messages/reader.js';
import { healthRoutes, type ReadinessCheck } from './http/routes/health.js';
import { Problem } from './http/schemas/problem.js';
import { metricsRoute } from './http/routes/metrics.js';
import type { Metrics } from './observability/metrics.js';
import { webhookRoutes, type WebhookRouteServices } from './http/routes/webhooks.js';
import { oauthRoutes } from './http/routes/oauth.js';
import { publicOAuthRoutes } from './http/routes/oauth-public.js';
import type { OAuth } from './wiring/oauth.js';
import { sendBodyLimitBytes } from './config/sending-config.js';
import { sendRoutes } from './http/routes/send.js';
import type { Sending } from './wiring/sending.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  readiness: readonly ReadinessCheck[];
  services: { connections: ConnectionService; tokens: TokenService; mailboxes: MailboxService; mailboxTokens: MailboxTokens };
  msal: MsalGateway;
  metrics: Metrics;
  /** CAs for IMAP and SMTP TLS (the mailbox doctor). */
  trust: { ca: readonly string[] };
  webhooks: WebhookRouteServices;
  oauth: OAuth;
  polling: { scheduler: PollScheduler; summary: () => Promise<MailboxSummaryT> };
  sending: Pick<Sending, 'service'>;
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
  // Check details (error messages, Redis node addresses) need a key with the operations scope.
  await app.register(healthRoutes(deps.readiness, { details: presentsScope(config.apiKeys, 'metrics') }));
  await app.register(metricsRoute(deps.metrics.registry, config.metrics.requireApiKey ? apiKeyHook(config.apiKeys, 'metrics') : undefined, deps.metrics.refresh));
  await app.register(async (v1) => {
    v1.addHook('onRequest', apiKeyHook(config.apiKeys));
    // An id of another shape is a 404 before the handler: it never becomes a Redis key.
    v1.addHook('preHandler', checkPathIds);
    await v1.register(connectionRoutes(deps.services.connections, (id) => verifyConnection({ ...deps.services, msal: deps.msal }, id)));
    await v1.register(mailboxSummaryRoute(deps.polling.summary));
    await v1.register(mailboxRoutes({ mailboxes: deps.services.mailboxes, authorizeUrl: (mailbox) => deps.oauth.delegated.authorizeUrlFor(mailbox) }));
    await v1.register(mailboxPollingRoutes(deps.services.mailboxes, deps.polling.scheduler));
    await v1.register(oauthRoutes(deps.oauth));
    await v1.register(mailboxDoctorRoutes((id) => diagnoseMailbox(
      { mailboxes: deps.services.mailboxes, tokens: deps.services.mailboxTokens, trust: deps.trust, logger: deps.logger, servers: doctorMailServers }, id)));
    await v1.register(mailboxMessageRoutes(new MessageReader({
      mailboxes: deps.services.mailboxes, tokens: deps.services.mailboxTokens, trust: deps.trust, logger: deps.logger, limits: config.messages, ...messagePorts })));
    await v1.register(webhookRoutes(deps.webhooks));
    await v1.register(sendRoutes(deps.sending.service, { bodyLimitBytes: sendBodyLimitBytes(config.sending) }));
  }, { prefix: '/v1' });
  // Browsers reach the OAuth callback and the sign-in start without an API key: a sibling
  // scope, outside the hook above, and documented with `security: []`.
  await app.register(publicOAuthRoutes(deps.oauth), { prefix: '/v1' });
  return app;
}
