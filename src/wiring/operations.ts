/**
 * The operations capability: the readiness checks of the shared
 * infrastructure (Redis reachable, Redis memory, stored secrets the keys can
 * open), the gauges refreshed at each scrape (queue depths, Redis memory),
 * and the routes at the root: /health/live, /health/ready (over every
 * capability's checks) and /metrics. Creating it opens nothing.
 */
import type { QueueFactory } from '../adapters/queue/bullmq.js';
import { RedisMemoryReader } from '../adapters/redis/memory.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { Config } from '../config/config.js';
import type { Cipher } from '../crypto/envelope.js';
import { mailboxPartition } from '../domain/tokens/token-service.js';
import { apiKeyHook, presentsScope } from '../http/plugins/api-key.js';
import { healthRoutes, type ReadinessCheck } from '../http/routes/health.js';
import { metricsRoute } from '../http/routes/metrics.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { queueDepthRefresher, type CountableQueue } from '../observability/queue-depth.js';
import { redisMemoryRefresher } from '../observability/redis-memory.js';
import { encryptionKeyCheck, type EncryptionKeyCheck } from '../roles/encryption-keys.js';
import { redisMemoryReadiness } from '../roles/redis-memory-readiness.js';
import { redisReadiness } from '../roles/redis-readiness.js';
import type { KeySpace } from '../store/keys.js';
import { storedKeyIds } from '../store/stored-key-ids.js';
import { nothingToClose, routesOf, type Capability } from './capability.js';

export interface OperationsDeps {
  config: Pick<Config, 'apiKeys' | 'metrics'>;
  redis: Redis;
  keys: KeySpace;
  cipher: Cipher;
  queues: QueueFactory;
  /** The queues whose depth /metrics shows. */
  queueNames: readonly string[];
  /** A queue's counts where it is not one BullMQ queue of the service's prefix (the poll queue: one per shard). */
  countsOf?: (name: string) => CountableQueue | undefined;
  metrics: Metrics;
  logger: Logger;
  /** Every check /health/ready runs: the container fills it (and a worker role adds its own). */
  readiness: readonly ReadinessCheck[];
}

export interface Operations {
  /** Stored records that need a key the service lacks: scanned at start, and the `encryption-keys` check. */
  encryptionKeys: EncryptionKeyCheck;
}

export function createOperations(deps: OperationsDeps): Capability<Operations> {
  const { config, redis, keys, cipher, metrics } = deps;
  metrics.onScrape(queueDepthRefresher({
    queue: (name) => deps.countsOf?.(name) ?? deps.queues.queue(name),
    names: deps.queueNames,
    gauge: metrics.queueDepth,
  }));
  // One short-lived INFO memory read serves readiness probes and scrapes alike.
  const redisMemory = new RedisMemoryReader(redis);
  metrics.onScrape(redisMemoryRefresher({ reader: redisMemory, used: metrics.redisMemoryUsed, max: metrics.redisMemoryMax }));
  const encryptionKeys = encryptionKeyCheck({
    sample: () => storedKeyIds({ redis, keys, mailboxPartition }),
    hasKey: (id) => cipher.hasKey(id),
    currentKeyId: cipher.keyId,
    logger: deps.logger,
  });
  return {
    name: 'operations',
    services: { encryptionKeys },
    routes: {
      // Check details (error messages, Redis node addresses) need a key with the operations scope.
      root: routesOf(
        healthRoutes(deps.readiness, { details: presentsScope(config.apiKeys, 'metrics') }),
        metricsRoute(metrics.registry, config.metrics.requireApiKey ? apiKeyHook(config.apiKeys, 'metrics') : undefined, metrics.refresh),
      ),
    },
    readiness: [redisReadiness(redis), redisMemoryReadiness(redisMemory), encryptionKeys.readiness],
    close: nothingToClose,
  };
}
