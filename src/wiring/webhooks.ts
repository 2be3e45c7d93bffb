/**
 * The webhooks capability assembled from the shared dependencies: the API
 * service and its routes, the EventPublisher producers use, and the job
 * module that worker roles start. Creating it opens nothing: queues connect
 * on first use and workers when the module starts.
 */
import { UndiciWebhookSender } from '../adapters/http/webhook-sender.js';
import { systemResolver } from '../adapters/http/guarded-lookup.js';
import type { QueueFactory } from '../adapters/queue/bullmq.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { WebhooksConfig } from '../config/webhooks-config.js';
import type { Cipher } from '../crypto/envelope.js';
import type { EventPublisher } from '../domain/events/events.js';
import { addressPolicy } from '../domain/webhooks/address-policy.js';
import { DeliveryAttempt } from '../domain/webhooks/attempt.js';
import { contentTtlMs } from '../domain/webhooks/content.js';
import { DeliveryLog } from '../domain/webhooks/deliveries.js';
import { WebhookPublisher } from '../domain/webhooks/publisher.js';
import type { WebhookRecord } from '../domain/webhooks/records.js';
import type { WebhookSender } from '../domain/webhooks/sender.js';
import { WebhookSubscriptions } from '../domain/webhooks/subscriptions.js';
import type { Resolver } from '../domain/webhooks/url-policy.js';
import { webhookRoutes } from '../http/routes/webhooks.js';
import { createDispatch, WebhookJobs } from '../jobs/webhooks/webhook-delivery.js';
import type { Logger } from '../logging/logger.js';
import { JsonStore } from '../store/json-store.js';
import type { KeySpace } from '../store/keys.js';
import { WebhookDeliveryReads } from '../store/webhook-delivery-reads.js';
import { WebhookScheduler } from '../store/webhook-scheduler.js';
import { webhooksVersion } from '../store/webhooks-version.js';
import type { Capability } from './capability.js';

export const WEBHOOK_USER_AGENT = 'mailsync-webhooks/0.1 (+https://www.standardwebhooks.com)';

export interface WebhooksDeps {
  config: WebhooksConfig;
  redis: Redis;
  keys: KeySpace;
  cipher: Cipher;
  queues: QueueFactory;
  logger: Logger;
  /** Tests inject these; production resolves with the system resolver and sends with undici. */
  resolve?: Resolver;
  sender?: WebhookSender;
}

export interface Webhooks {
  subscriptions: WebhookSubscriptions;
  deliveries: DeliveryLog;
  publisher: EventPublisher;
  scheduler: WebhookScheduler;
}

export function createWebhooks(deps: WebhooksDeps): Capability<Webhooks> {
  const { config, redis, keys } = deps;
  const resolve = deps.resolve ?? systemResolver;
  const addresses = addressPolicy({ allowPrivateNetworks: config.allowPrivateNetworks, allowedAddresses: config.allowedAddresses });
  const scheduler = new WebhookScheduler(redis, keys.webhookDelivery, {
    maxInFlight: config.maxInFlightPerSubscription,
    admissionLeaseMs: config.admissionLeaseMs,
    attemptLeaseMs: config.timeoutMs + 60_000,
    unhealthyAfterFailures: config.unhealthyAfterFailures,
    probeIntervalMs: config.probeIntervalMs,
    retentionCount: config.retention.count,
    retentionMs: config.retention.days * 86_400_000,
  });
  const reads = new WebhookDeliveryReads(redis, keys.webhookDelivery);
  const subscriptions = new WebhookSubscriptions({
    store: new JsonStore<WebhookRecord>({ redis, recordKey: keys.webhook, indexKey: keys.webhooks }),
    version: webhooksVersion(redis, keys.webhooksVersion),
    reads,
    cipher: deps.cipher,
    resolve,
    addresses,
    secretGraceSeconds: config.secretGraceSeconds,
  });
  const dispatch = createDispatch(deps.queues);
  const sender = deps.sender ?? new UndiciWebhookSender({ timeoutMs: config.timeoutMs, addresses, resolve });
  const attempt = new DeliveryAttempt({
    scheduler,
    subscriptions,
    sender,
    dispatch,
    policy: config.retry,
    userAgent: WEBHOOK_USER_AGENT,
    logger: deps.logger,
  });
  const deliveries = new DeliveryLog({ subscriptions, reads, scheduler, dispatch });
  return {
    name: 'webhooks',
    services: {
      subscriptions,
      deliveries,
      publisher: new WebhookPublisher({ subscriptions, scheduler, dispatch, logger: deps.logger, contentTtlMs: contentTtlMs(config.retry) }),
      scheduler,
    },
    jobs: new WebhookJobs({ scheduler, attempt, dispatch, config, logger: deps.logger }),
    routes: { api: webhookRoutes({ subscriptions, deliveries }) },
    readiness: [],
    close: () => sender.close(),
  };
}
