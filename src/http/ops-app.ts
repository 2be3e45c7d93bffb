/**
 * The HTTP surface of a worker process (ROLE=worker with PORT set): only the
 * operations routes, /health/live, /health/ready and /metrics. A worker has
 * no API, but it is where polls, sends and deliveries happen, so its health
 * and its counters must be reachable: by the container HEALTHCHECK, by the
 * orchestrator's probes and by Prometheus. Built from the same route plugins
 * as the API's app; it never listens itself.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { apiKeyHook } from './plugins/api-key.js';
import { installErrorHandling } from './plugins/errors.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';

export interface OpsAppDeps {
  config: Config;
  logger: Logger;
  readiness: readonly ReadinessCheck[];
  metrics: Metrics;
}

export async function buildOpsApp(deps: OpsAppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  installErrorHandling(app);
  // A worker's own port: every check's detail, without a key (keep it off public networks).
  await app.register(healthRoutes(deps.readiness, { details: () => true }));
  await app.register(metricsRoute(deps.metrics.registry, config.metrics.requireApiKey ? apiKeyHook(config.apiKeys, 'metrics') : undefined, deps.metrics.refresh));
  return app;
}
