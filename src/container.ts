/**
 * The composition root: the shared infrastructure (Redis, the key space,
 * the cipher, metrics, the queues, the job runtime) made from the config,
 * then the capabilities, each assembled by its module in wiring/ into the
 * one shape of wiring/capability.ts, and listed in the order app.ts
 * registers their routes. Closed in reverse order. Tests build the same
 * graph with their own config (pointing at the sandbox).
 */
import type { Config } from './config/config.js';
import { loadExtraCa, mailServerCa } from './config/trust.js';
import { createCipher, type Cipher } from './crypto/envelope.js';
import { deriveKeyRing } from './crypto/subkeys.js';
import { IDEMPOTENCY_KEY_INFO } from './domain/sending/idempotency.js';
import type { ConnectionService } from './domain/connections/service.js';
import type { MsalGateway } from './adapters/msal/gateway.js';
import { QueueFactory } from './adapters/queue/bullmq.js';
import { closeRedis, createRedis, type Redis } from './adapters/redis/redis.js';
import type { ReadinessCheck } from './roles/readiness-check.js';
import type { EncryptionKeyCheck } from './roles/encryption-keys.js';
import { JobRuntime } from './jobs/runtime.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { POLL_QUEUE } from './jobs/polling/scheduler.js';
import { DELIVERY_QUEUES } from './jobs/webhooks/webhook-delivery.js';
import { SEND_QUEUE } from './jobs/sending/send-jobs.js';
import type { Logger } from './logging/logger.js';
import type { TokenService } from './domain/tokens/token-service.js';
import type { MailboxService } from './domain/mailboxes/service.js';
import { createKeySpace, type KeySpace } from './store/keys.js';
import type { EventPublisher } from './domain/events/events.js';
import type { MailboxTokens } from './domain/mailboxes/mailbox-tokens.js';
import type { Capability } from './wiring/capability.js';
import { createConnections } from './wiring/connections.js';
import { createConsole } from './wiring/console.js';
import { createMail } from './wiring/mail.js';
import { createMailboxes, type Mailboxes } from './wiring/mailboxes.js';
import { createOAuth, type OAuth } from './wiring/oauth.js';
import { createOperations } from './wiring/operations.js';
import { createSending, type Sending } from './wiring/sending.js';
import { readAtMost } from './adapters/stream-bytes.js';
import { createWebhooks, type Webhooks } from './wiring/webhooks.js';

export interface Dependencies {
  config: Config;
  logger: Logger;
  redis: Redis;
  keys: KeySpace;
  cipher: Cipher;
  queues: QueueFactory;
  /** Background work (BullMQ workers, sweepers, the queue-workers check); started only in worker roles. */
  jobs: JobRuntime;
  /** Every capability, in the order app.ts registers their routes. */
  capabilities: readonly Capability[];
  // Views of the capabilities' services, for the callers that need one (server, tests, bench).
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
  /** Webhook subscriptions, the delivery log and the delivery schedule. */
  webhooks: Webhooks;
  polling: Pick<Mailboxes, 'scheduler' | 'summary' | 'cycle'>;
  /** POST/GET /v1/send. */
  sending: Sending;
  /** Where producers announce domain events (delivered by webhook). */
  events: EventPublisher;
  /** What /health/ready checks: every capability's checks (a worker role adds its own). */
  readiness: ReadinessCheck[];
  /** Stored records that need a key the service lacks: scanned at start, and the `encryption-keys` check. */
  encryptionKeys: EncryptionKeyCheck;
  metrics: Metrics;
  close(): Promise<void>;
}

export function createDependencies(config: Config, logger: Logger): Dependencies {
  const redis = createRedis(config.redis, 'command', `${config.role}:command`);
  redis.on('error', (err: Error) => logger.warn({ err }, 'redis connection error'));
  const keys = createKeySpace(config.redis.prefix, { pollShards: config.polling.shards });
  const metrics = createMetrics();
  const cipher = createCipher(config.encryption.key, config.encryption.previousKeys);
  const extraCa = loadExtraCa(config.outbound.extraCaFile);
  const trust = { ca: mailServerCa(extraCa) };
  const queues = new QueueFactory({ redis: config.redis, prefix: keys.queuePrefix, logger, name: config.role });
  // Every queue the service uses: each has its handler, or the workers do not start.
  const queueNames = [POLL_QUEUE, DELIVERY_QUEUES.main, DELIVERY_QUEUES.probe, SEND_QUEUE];
  const jobs = new JobRuntime({ queues, queueNames, logger });
  const readiness: ReadinessCheck[] = [];

  const webhooks = createWebhooks({ config: config.webhooks, redis, keys, cipher, queues, logger });
  const events = webhooks.services.publisher;
  const connections = createConnections({
    config, redis, keys, cipher, metrics, logger, extraCa, events,
    mailboxesUsing: (connectionId): Promise<number> => mailboxes.services.mailboxes.countForConnection(connectionId),
  });
  const { tokens, msal, network, tokenCache } = connections.services;
  const mailboxes: Capability<Mailboxes> = createMailboxes({
    config, redis, keys, queues, connections: connections.services.connections, tokens, tokenCache, events, metrics, logger, ca: trust.ca,
    authorizeUrl: (mailbox) => oauth.services.delegated.authorizeUrlFor(mailbox),
    bounces: (mailboxId, report) => sending.services.bounces(mailboxId, report),
  });
  const { mailboxes: mailboxService, mailboxTokens } = mailboxes.services;
  const sending = createSending({
    config: config.sending, redis, keys, cipher,
    idempotencyKeys: deriveKeyRing(config.encryption.key, config.encryption.previousKeys, IDEMPOTENCY_KEY_INFO),
    queues, mailboxes: mailboxService, mailboxTokens, events, metrics, logger, ca: trust.ca,
    // Replies and forwards read and flag their originals through the mail capability (made below).
    originals: {
      get: (mailboxId, uid, folder) => mail.services.reader.get(mailboxId, uid, folder),
      source: async (mailboxId, uid, folder, maxBytes) => readAtMost((await mail.services.reader.raw(mailboxId, uid, folder)).content, maxBytes),
      mark: (mailboxId, uid, folder, flag) => mail.services.acting.actions.addFlag(mailboxId, uid, folder, flag),
    },
  });
  const oauth: Capability<OAuth> = createOAuth({
    config, redis, keys, cipher, msal, network, tokenCache, connections: connections.services.connections, mailboxes: mailboxService, tokens, events, logger,
  });
  const mail = createMail({ config, redis, keys, metrics, mailboxes: mailboxService, mailboxTokens, trust, logger });
  // The poll queue is one BullMQ queue per shard: its depth is the sum over them.
  const pollCounts = { getJobCounts: (...states: string[]) => mailboxes.services.scheduler.jobCounts(...states) };
  const countsOf = (name: string): { getJobCounts(...states: string[]): Promise<Record<string, number>> } | undefined => (name === POLL_QUEUE ? pollCounts : undefined);
  const operations = createOperations({ config, redis, keys, cipher, queues, queueNames, countsOf, metrics, logger, readiness });

  // The order app.ts registers the routes in (and so the order of the OpenAPI document's paths).
  const capabilities: Capability[] = [operations, connections, mailboxes, oauth, mail, webhooks, sending, createConsole()];
  readiness.push(...capabilities.flatMap((c) => c.readiness));
  // Started in this order by worker roles.
  for (const capability of [webhooks, mailboxes, sending, connections]) if (capability.jobs) jobs.register(capability.jobs);

  return {
    config,
    logger,
    redis,
    keys,
    cipher,
    queues,
    jobs,
    capabilities,
    services: { connections: connections.services.connections, tokens, mailboxes: mailboxService, mailboxTokens },
    msal,
    trust,
    oauth: oauth.services,
    webhooks: webhooks.services,
    polling: { scheduler: mailboxes.services.scheduler, summary: mailboxes.services.summary, cycle: mailboxes.services.cycle },
    sending: sending.services,
    events,
    readiness,
    encryptionKeys: operations.services.encryptionKeys,
    metrics,
    close: async () => {
      await jobs.stopAll();
      await queues.close();
      // What each capability opened itself (the webhook sender's connections), then Redis, then the MSAL network client.
      for (const capability of capabilities) if (capability !== connections) await capability.close();
      await closeRedis(redis);
      await connections.close();
    },
  };
}
