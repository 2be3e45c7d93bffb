/** Liveness (the process answers) and readiness (it can do its work). */
import { Type } from 'typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ReadinessCheck } from '../../roles/readiness-check.js';

export type { ReadinessCheck };

const Check = Type.Object({ name: Type.String(), ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
const Readiness = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]), checks: Type.Array(Check) });

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(c: ReadinessCheck): Promise<{ name: string; ok: boolean; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<{ ok: boolean; detail: string }>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
    });
    return { name: c.name, ...(await Promise.race([c.check(), timeout])) };
  } catch (err) {
    return { name: c.name, ok: false, detail: err instanceof Error ? err.message : 'failed' };
  } finally {
    clearTimeout(timer);
  }
}

export interface HealthRouteOptions {
  /**
   * Whether this request sees every check with its detail (error messages, Redis node addresses):
   * the API asks for an API key with the `metrics` scope, a worker's ops listener shows them to all.
   * Everyone else gets the status and the names of the failing checks. @defaultValue nobody
   */
  details?: (request: FastifyRequest) => boolean;
}

export function healthRoutes(checks: readonly ReadinessCheck[], options: HealthRouteOptions = {}) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/health/live', {
      schema: { tags: ['health'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    }, async () => ({ status: 'ok' as const }));

    app.get('/health/ready', {
      schema: {
        tags: ['health'],
        summary: 'Redis is reachable and, in worker roles, the workers are running',
        description: 'Without an API key (scope metrics) only the status and the names of the failing checks; with one, every check and its detail.',
        response: { 200: Readiness, 503: Readiness },
      },
    }, async (request, reply) => {
      const results = await Promise.all(checks.map(runCheck));
      const ok = results.every((r) => r.ok);
      const shown = options.details?.(request) === true ? results : results.filter((r) => !r.ok).map(({ name }) => ({ name, ok: false }));
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: shown });
    });
  };
}
