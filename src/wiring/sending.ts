/**
 * The sending capability assembled from the shared dependencies: the
 * service and routes of POST/GET/DELETE /v1/send (every role: the API accepts messages),
 * and the job module that worker roles start (the outbox relay, the BullMQ
 * worker, the sweeper and the SMTP pool live there). Creating it opens
 * nothing: the relay's connection opens when the module starts, queues on
 * first use, SMTP connections when a message goes out.
 */
import type { QueueFactory } from '../adapters/queue/bullmq.js';
import { isCluster, type Redis } from '../adapters/redis/redis.js';
import { SmtpSendPool } from '../adapters/smtp/send-pool.js';
import { sendBodyLimitBytes, type SendingConfig } from '../config/sending-config.js';
import type { Cipher } from '../crypto/envelope.js';
import type { KeyRing } from '../crypto/subkeys.js';
import type { EventPublisher } from '../domain/events/events.js';
import type { MailboxTokens } from '../domain/mailboxes/mailbox-tokens.js';
import type { MailboxService } from '../domain/mailboxes/service.js';
import type { BounceHandler } from '../domain/polling/bounce-check.js';
import { announceBounces } from '../domain/sending/bounces.js';
import { Delivery } from '../domain/sending/delivery.js';
import type { OriginalMessages } from '../domain/sending/originals.js';
import { SendService } from '../domain/sending/service.js';
import { OutboxRelay } from '../jobs/sending/outbox-relay.js';
import { createEnqueue, poolSweepMs, SendingJobs } from '../jobs/sending/send-jobs.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { RedisConnectionSlots } from '../store/connection-slots.js';
import type { KeySpace } from '../store/keys.js';
import { SendRateLimiter } from '../store/send-rate-limiter.js';
import { SendStore } from '../store/send-store.js';
import { sendRoutes } from '../http/routes/send.js';
import { BodyBudget } from '../http/body-budget.js';
import { nothingToClose, type Capability } from './capability.js';

/** One message's whole SMTP budget, connection included: a server that trickles its replies is given up on (and retried). */
const SEND_TIMEOUT_MS = 5 * 60_000;

/**
 * A mailbox's pool is retired this long before its token expires. Shorter than the token
 * service's renewal margin (5 min), so a token it hands out never retires a pool at once.
 */
const POOL_RENEW_BEFORE_MS = 60_000;
/** Exchange Online's SMTP connections per mailbox at once (a 4th gets `432 4.3.2`), across all workers. */
const EXCHANGE_CONNECTIONS_PER_MAILBOX = 3;

/** A new connection like `redis` (a server or a cluster), for the relay's BLPOP. */
const duplicate = (redis: Redis): Redis => (isCluster(redis) ? redis.duplicate() : redis.duplicate());

export interface SendingWiringDeps {
  config: SendingConfig;
  redis: Redis;
  keys: KeySpace;
  cipher: Cipher;
  /** The keys of the Idempotency-Key body hash (domain/sending/idempotency.ts). */
  idempotencyKeys: KeyRing;
  queues: QueueFactory;
  mailboxes: MailboxService;
  mailboxTokens: MailboxTokens;
  events: EventPublisher;
  metrics: Metrics;
  logger: Logger;
  /** CAs trusted for SMTP TLS (Node's roots plus NODE_EXTRA_CA_CERTS). */
  ca: readonly string[];
  /** The mailbox's messages, for replies and forwards (the mail capability answers). */
  originals?: OriginalMessages;
}

export interface Sending {
  service: SendService;
  /** Matches a delivery report found in a mailbox to its send, keeps and announces it (issue 17). */
  bounces: BounceHandler;
}

export function createSending(deps: SendingWiringDeps): Capability<Sending> {
  const { config } = deps;
  const logger = deps.logger.child({ module: 'sending' });
  const store = new SendStore(deps.redis, deps.keys.send, deps.cipher, {
    contentSeconds: config.contentRetentionSeconds,
    recordSeconds: config.recordRetentionSeconds,
  });
  const service = new SendService({
    store,
    mailboxes: deps.mailboxes,
    limits: { maxMessageBytes: config.maxMessageBytes, maxRecipients: config.maxRecipients },
    idempotencyKeys: deps.idempotencyKeys,
    ...(deps.originals ? { originals: deps.originals } : {}),
  });
  const pool = new SmtpSendPool({
    ca: deps.ca,
    connectionsPerMailbox: config.pool.connectionsPerMailbox,
    slots: new RedisConnectionSlots(deps.redis, deps.keys.smtpSlots, {
      limit: EXCHANGE_CONNECTIONS_PER_MAILBOX,
      // Renewed at every pool sweep: a lease outlives two missed ones, and a killed worker's
      // slots are free again within it.
      leaseMs: 3 * poolSweepMs(config.sweepIntervalMs),
    }),
    idleMs: config.pool.idleMs,
    renewBeforeMs: POOL_RENEW_BEFORE_MS,
    sendTimeoutMs: SEND_TIMEOUT_MS,
    logger,
  });
  const delivery = new Delivery({
    store,
    limiter: new SendRateLimiter(deps.redis, deps.keys.send, config.rate),
    mailboxes: deps.mailboxes,
    tokens: deps.mailboxTokens,
    smtp: pool,
    events: deps.events,
    ...(deps.originals ? { originals: deps.originals } : {}),
    metrics: deps.metrics,
    logger,
    policy: config.retry,
  });
  const enqueue = createEnqueue(deps.queues);
  const jobs = new SendingJobs({
    queues: deps.queues,
    enqueue,
    relay: new OutboxRelay({ store, blockingConnection: () => duplicate(deps.redis), enqueue, logger }),
    delivery,
    store,
    pool,
    settings: {
      concurrency: config.concurrency,
      stallTimeoutMs: config.stallTimeoutMs,
      sweepIntervalMs: config.sweepIntervalMs,
      scheduleIntervalMs: config.scheduleIntervalMs,
    },
    logger,
  });
  return {
    name: 'sending',
    services: { service, bounces: (mailboxId, report) => announceBounces(mailboxId, report, { sends: store, events: deps.events, now: () => new Date() }) },
    jobs,
    routes: { api: sendRoutes(service, { bodyLimitBytes: sendBodyLimitBytes(config), budget: new BodyBudget(config.bodyBudgetBytes, (bytes) => deps.metrics.sendBodyBytes.set(bytes)) }) },
    readiness: [],
    close: nothingToClose,
  };
}
