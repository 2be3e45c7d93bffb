/**
 * Starts the service in its role: `api` serves HTTP, `worker` runs the
 * workers, `all` does both in one process. Returns a handle whose close()
 * stops in order: stop accepting, finish in-flight work, close Redis.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { redisSettingWarnings } from './adapters/redis/settings.js';
import { buildApp } from './app.js';
import { buildOpsApp } from './http/ops-app.js';
import type { Config } from './config/config.js';
import { createDependencies, type Dependencies } from './container.js';
import type { Logger } from './logging/logger.js';
import { startHeartbeat } from './roles/heartbeat.js';

export interface RunningService {
  deps: Dependencies;
  app: FastifyInstance | undefined;
  /** http://host:port when the API listens. */
  url: string | undefined;
  close(): Promise<void>;
}

export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const deps = createDependencies(config, logger);
  await deps.redis.connect();
  for (const warning of await redisSettingWarnings(deps.redis)) logger.warn({ redis: config.redis.prefix }, warning);
  if (config.encryption.ephemeral) {
    logger.warn('sandbox mode without ENCRYPTION_KEY: secrets are encrypted with a key that dies with this process');
  }
  // Stored secrets that need a key the service lacks: one error log now, and readiness fails until fixed.
  await deps.encryptionKeys.scan().catch((err: unknown) => logger.warn({ err }, 'stored encryption key ids not checked'));
  const closers: (() => Promise<void>)[] = [];
  const runsWorkers = config.role === 'worker' || config.role === 'all';
  const runsApi = config.role === 'api' || config.role === 'all';

  if (runsWorkers) {
    const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const heartbeat = startHeartbeat({ redis: deps.redis, key: deps.keys.workers(), workerId, logger });
    // The BullMQ workers: readiness names a stopped one, and the runtime's watch starts it again.
    deps.readiness.push(heartbeat.readiness, deps.jobs.readiness);
    await deps.jobs.startAll({ workerId });
    logger.info({ workerId, modules: deps.jobs.names() }, 'workers started');
    closers.push(() => deps.jobs.stopAll(), () => heartbeat.stop());
  }

  let app: FastifyInstance | undefined;
  let url: string | undefined;
  if (runsApi || config.workerListens) {
    // A worker serves only /health and /metrics (see http/ops-app.ts).
    app = runsApi ? await buildApp(deps) : await buildOpsApp(deps);
    url = await app.listen({ host: config.host, port: config.port });
    logger.info({ url, role: config.role }, 'listening');
    const server = app;
    closers.unshift(() => server.close());
  }

  let closed: Promise<void> | undefined;
  return {
    deps,
    app,
    url,
    close: () => {
      closed ??= (async () => {
        for (const close of closers) await close();
        await deps.close();
      })();
      return closed;
    },
  };
}
