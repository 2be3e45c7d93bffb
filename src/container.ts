/**
 * The dependency graph: every long-lived object the service needs, created
 * from the config in one place, and closed in reverse order. Tests build the
 * same graph with their own config (pointing at the sandbox).
 */
import type { Config } from './config/config.js';
import { loadExtraCa, mailServerCa } from './config/trust.js';
import { createCipher, type Cipher } from './crypto/envelope.js';
import { deriveKeyRing } from './crypto/subkeys.js';
import { IDEMPOTENCY_KEY_INFO } from './domain/sending/idempotency.js';
import { ConnectionService, type ConnectionRecord } from './domain/connections/service.js';
import { MsalGateway } from './adapters/msal/gateway.js';
import { createMsalNetworkClient } from './adapters/msal/network-client.js';
import { QueueFactory } from './adapters/queue/bullmq.js';
import { closeRedis, createRedis, type Redis } from './adapters/redis/redis.js';
import type { ReadinessCheck } from './http/routes/health.js';
import { redisReadiness } from './roles/redis-readiness.js';
import { encryptionKeyCheck, type EncryptionKeyCheck } from './roles/encryption-keys.js';
import { storedKeyIds } from './store/stored-key-ids.js';
import { RedisMemoryReader } from './adapters/redis/memory.js';
import { redisMemoryReadiness } from './roles/redis-memory-readiness.js';
import { redisMemoryRefresher } from './observability/redis-memory.js';
import { JobRuntime } from './jobs/runtime.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { queueDepthRefresher } from './observability/queue-depth.js';
import { POLL_QUEUE } from './jobs/polling/scheduler.js';
import { DELIVERY_QUEUES } from './jobs/webhooks/webhook-delivery.js';
import { SEND_QUEUE } from './jobs/sending/send-jobs.js';
import type { Logger } from './logging/logger.js';
import { SingleFlight } from './domain/tokens/single-flight.js';
import { mailboxPartition, TokenService } from './domain/tokens/token-service.js';
import { MailboxService, type MailboxRecord } from './domain/mailboxes/service.js';
import { JsonStore } from './store/json-store.js';
import { RedisLock } from './store/lock.js';
import { TokenCacheStore } from './store/token-cache-store.js';
import { createKeySpace, type KeySpace } from './store/keys.js';
import type { EventPublisher } from './domain/events/events.js';
import { createWebhooks, type Webhooks } from './wiring/webhooks.js';
import { createOAuth, type OAuth } from './wiring/oauth.js';
import { createPolling, type Polling } from './wiring/polling.js';
import { MailboxTokens } from './domain/mailboxes/mailbox-tokens.js';
import { createSending, type Sending } from './wiring/sending.js';

export interface Dependencies {
  config: Config;
  logger: Logger;
  redis: Redis;
  keys: KeySpace;
  cipher: Cipher;
  queues: QueueFactory;
  /** Background work (BullMQ workers, sweepers, the queue-workers check); started only in worker roles. */
  jobs: JobRuntime;
  services: {
    connections: ConnectionService;
    tokens: TokenService;
    mailboxes: MailboxService;
    /** A mailbox's token, with failures recorded on the mailbox (polling, sending and the doctor use it). */
    mailboxTokens: MailboxTokens;
  };
  msal: MsalGateway;
  /** CAs trusted for IMAP and SMTP TLS: Node's roots plus NODE_EXTRA_CA_CERTS, read once (see config/trust.ts). */
  trust: { ca: readonly string[] };
  /** Delegated mailbox authorization, the Microsoft sign-in provider and their callback. */
  oauth: OAuth;
  /** Webhook subscriptions, the delivery log and the delivery jobs. */
  webhooks: Webhooks;
  polling: Polling;
  /** POST/GET /v1/send and the sending jobs. */
  sending: Sending;
  /** Where producers announce domain events (delivered by webhook). */
  events: EventPublisher;
  readiness: ReadinessCheck[];
  /** Stored records that need a key the service lacks: scanned at start, and the `encryption-keys` check. */
  encryptionKeys: EncryptionKeyCheck;
  metrics: Metrics;
  close(): Promise<void>;
}

export function createDependencies(config: Config, logger: Logger): Dependencies {
  const redis = createRedis(config.redis, 'command', `${config.role}:command`);
  redis.on('error', (err: Error) => logger.warn({ err }, 'redis connection error'));
  const keys = createKeySpace(config.redis.prefix);
  const metrics = createMetrics();
  const cipher = createCipher(config.encryption.key, config.encryption.previousKeys);
  const connections: ConnectionService = new ConnectionService({
    store: new JsonStore<ConnectionRecord>({ redis, recordKey: keys.connection, indexKey: keys.connections }),
    cipher,
    mailboxesUsing: (connectionId): Promise<number> => mailboxes.countForConnection(connectionId),
    authorityHosts: config.outbound.authorityHosts,
  });
  const extraCa = loadExtraCa(config.outbound.extraCaFile);
  const network = createMsalNetworkClient({
    caPem: extraCa,
    ...(config.outbound.httpsProxy ? { proxyUrl: config.outbound.httpsProxy.href } : {}),
  });
  const tokenCache = new TokenCacheStore(redis, keys, cipher);
  const msal = new MsalGateway(network, tokenCache, logger);
  const tokens = new TokenService({
    gateway: msal,
    keys,
    singleFlight: new SingleFlight({ lock: new RedisLock(redis), lockTtlMs: 30_000, maxWaitMs: 35_000 }),
    credentials: (connectionId) => connections.credentials(connectionId),
    metrics,
  });
  const mailboxes: MailboxService = new MailboxService({
    store: new JsonStore<MailboxRecord>({
      redis,
      recordKey: keys.mailbox,
      indexKey: keys.mailboxes,
      groupKey: (m) => keys.connectionMailboxes(m.connectionId),
      uniqueKey: (m) => keys.mailboxAddress(m.connectionId, m.email),
      // Mailboxes by state, for GET /v1/mailboxes/summary.
      countBy: { key: keys.mailboxStates, field: 'state' },
    }),
    connections,
    mailHosts: config.outbound.mailHosts,
    minPollIntervalSeconds: config.polling.minIntervalSeconds,
    connectionMailboxesKey: keys.connectionMailboxes,
    // A deleted mailbox's delegated sign-in goes with it.
    onDeleted: async (mailbox) => {
      tokens.forget(mailboxPartition(mailbox.id));
      await tokenCache.delete(mailboxPartition(mailbox.id));
    },
  });
  const queues = new QueueFactory({ redis: config.redis, prefix: keys.queuePrefix, logger, name: config.role });
  // Every queue the service uses: each has its handler, or the workers do not start.
  const queueNames = [POLL_QUEUE, DELIVERY_QUEUES.main, DELIVERY_QUEUES.probe, SEND_QUEUE];
  const jobs = new JobRuntime({ queues, queueNames, logger });
  metrics.onScrape(queueDepthRefresher({
    queue: (name) => queues.queue(name),
    names: queueNames,
    gauge: metrics.queueDepth,
  }));
  const webhooks = createWebhooks({ config: config.webhooks, redis, keys, cipher, queues, logger });
  jobs.register(webhooks.jobs);
  const polling = createPolling({
    config, redis, keys, queues, mailboxes, connections, tokens, events: webhooks.publisher, metrics, logger, ca: mailServerCa(extraCa),
  });
  jobs.register(polling.jobs);
  const mailboxTokens = new MailboxTokens({ mailboxes, tokens });
  const idempotencyKeys = deriveKeyRing(config.encryption.key, config.encryption.previousKeys, IDEMPOTENCY_KEY_INFO);
  const sending = createSending({
    config: config.sending, redis, keys, cipher, idempotencyKeys, queues, mailboxes, mailboxTokens, events: webhooks.publisher, metrics, logger, ca: mailServerCa(extraCa),
  });
  jobs.register(sending.jobs);
  const oauth = createOAuth({
    config, redis, keys, cipher, msal, network, tokenCache, connections, mailboxes, tokens, events: webhooks.publisher, logger,
  });
  // One short-lived INFO memory read serves readiness probes and scrapes alike.
  const redisMemory = new RedisMemoryReader(redis);
  metrics.onScrape(redisMemoryRefresher({ reader: redisMemory, used: metrics.redisMemoryUsed, max: metrics.redisMemoryMax }));
  const readiness: ReadinessCheck[] = [redisReadiness(redis), redisMemoryReadiness(redisMemory)];
  const encryptionKeys = encryptionKeyCheck({
    sample: () => storedKeyIds({ redis, keys, mailboxPartition }),
    hasKey: (id) => cipher.hasKey(id),
    currentKeyId: cipher.keyId,
    logger,
  });
  readiness.push(encryptionKeys.readiness);
  return {
    config,
    logger,
    redis,
    keys,
    cipher,
    queues,
    jobs,
    services: { connections, tokens, mailboxes, mailboxTokens },
    msal,
    trust: { ca: mailServerCa(extraCa) },
    oauth,
    webhooks,
    polling,
    sending,
    events: webhooks.publisher,
    readiness,
    encryptionKeys,
    metrics,
    close: async () => {
      await jobs.stopAll();
      await queues.close();
      await webhooks.close();
      await closeRedis(redis);
      await network.close();
    },
  };
}
