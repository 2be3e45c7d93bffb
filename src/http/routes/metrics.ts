/** GET /metrics: Prometheus text format; behind the API key when METRICS_REQUIRE_API_KEY=true. */
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type { Registry } from 'prom-client';

export function metricsRoute(registry: Registry, guard: onRequestHookHandler | undefined, refresh?: () => Promise<void>) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/metrics', {
      schema: { hide: true },
      ...(guard ? { onRequest: guard } : {}),
    }, async (_request, reply) => {
      await refresh?.();
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  };
}
