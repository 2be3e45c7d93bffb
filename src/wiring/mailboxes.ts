/**
 * The mailboxes-and-polling capability: the mailbox service (a deleted
 * mailbox's delegated sign-in goes with it), a mailbox's token with its
 * failures recorded (MailboxTokens, for polling, sending and the doctor),
 * the poll schedule and jobs (wiring/polling.ts), and the /v1/mailboxes
 * routes (summary, CRUD, pause/resume/poll). Creating it opens nothing.
 */
import type { QueueFactory } from '../adapters/queue/bullmq.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { Config } from '../config/config.js';
import type { ConnectionService } from '../domain/connections/service.js';
import type { EventPublisher } from '../domain/events/events.js';
import { mailboxTerms } from '../domain/mailboxes/list.js';
import { MailboxTokens } from '../domain/mailboxes/mailbox-tokens.js';
import { MailboxService, type MailboxRecord } from '../domain/mailboxes/service.js';
import type { MailboxSummaryT } from '../domain/mailboxes/summary.js';
import { mailboxPartition, type TokenService } from '../domain/tokens/token-service.js';
import { mailboxPollingRoutes } from '../http/routes/mailbox-polling.js';
import { mailboxSummaryRoute } from '../http/routes/mailbox-summary.js';
import { mailboxRoutes } from '../http/routes/mailboxes.js';
import type { PollCycle } from '../domain/polling/cycle.js';
import type { PollScheduler } from '../jobs/polling/scheduler.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { JsonStore } from '../store/json-store.js';
import type { KeySpace } from '../store/keys.js';
import { PollMarks } from '../store/poll-marks.js';
import { PollSchedule } from '../store/poll-schedule.js';
import type { TokenCacheStore } from '../store/token-cache-store.js';
import { nothingToClose, routesOf, type Capability } from './capability.js';
import type { BounceHandler } from '../domain/polling/bounce-check.js';
import { createPolling } from './polling.js';

export interface MailboxesDeps {
  config: Config;
  redis: Redis;
  keys: KeySpace;
  queues: QueueFactory;
  connections: ConnectionService;
  tokens: TokenService;
  tokenCache: Pick<TokenCacheStore, 'delete'>;
  events: EventPublisher;
  metrics: Metrics;
  logger: Logger;
  /** CAs trusted for IMAP TLS (Node's roots plus NODE_EXTRA_CA_CERTS). */
  ca: readonly string[];
  /** The sign-in URL of a delegated mailbox (the sign-in capability answers). */
  authorizeUrl: (mailbox: MailboxRecord) => Promise<string>;
  /** Delivery reports found among new mail, matched to their sends (the sending capability answers). */
  bounces?: BounceHandler;
}

export interface Mailboxes {
  mailboxes: MailboxService;
  /** A mailbox's token, with failures recorded on the mailbox (polling, sending and the doctor use it). */
  mailboxTokens: MailboxTokens;
  scheduler: PollScheduler;
  /** One poll of one trigger, as a poll job runs it (tests and benches call it directly). */
  cycle: PollCycle;
  /** GET /v1/mailboxes/summary: counts, overdue mailboxes, live workers (also gauges in /metrics). */
  summary: () => Promise<MailboxSummaryT>;
}

export function createMailboxes(deps: MailboxesDeps): Capability<Mailboxes> {
  const { config, redis, keys, tokens } = deps;
  // Polling keeps each mailbox's last poll (the marks) and next (the schedule) out of the record.
  const marks = new PollMarks(redis, keys);
  const dues = new PollSchedule(redis, keys);
  const mailboxes: MailboxService = new MailboxService({
    store: new JsonStore<MailboxRecord>({
      redis,
      recordKey: keys.mailbox,
      indexKey: keys.mailboxes,
      groupKey: (m) => keys.connectionMailboxes(m.connectionId),
      uniqueKey: (m) => keys.mailboxAddress(m.connectionId, m.email),
      // Mailboxes by state, for GET /v1/mailboxes/summary.
      countBy: { key: keys.mailboxStates, field: 'state' },
      // Mailboxes by state, connection, both and address, for GET /v1/mailboxes filters.
      terms: { key: keys.mailboxTerms, builtKey: keys.mailboxTermsBuilt, of: mailboxTerms },
    }),
    connections: deps.connections,
    mailHosts: config.outbound.mailHosts,
    minPollIntervalSeconds: config.polling.minIntervalSeconds,
    connectionMailboxesKey: keys.connectionMailboxes,
    pollTimes: {
      of: async (ids) => {
        const [last, next] = await Promise.all([marks.lastAt(ids), dues.duesOf(ids)]);
        return ids.map((_, i) => ({ lastPollAt: last[i], nextPollAt: next[i] }));
      },
    },
    // A deleted mailbox's delegated sign-in goes with it.
    onDeleted: async (mailbox) => {
      tokens.forget(mailboxPartition(mailbox.id));
      await deps.tokenCache.delete(mailboxPartition(mailbox.id));
    },
  });
  const polling = createPolling({
    config, redis, keys, queues: deps.queues, mailboxes, connections: deps.connections, tokens, events: deps.events,
    metrics: deps.metrics, logger: deps.logger, ca: deps.ca, marks, ...(deps.bounces ? { bounces: deps.bounces } : {}),
  });
  const mailboxTokens = new MailboxTokens({ mailboxes, tokens });
  const { scheduler, summary, cycle } = polling;
  return {
    name: 'mailboxes',
    services: { mailboxes, mailboxTokens, scheduler, summary, cycle },
    jobs: polling.jobs,
    routes: {
      api: routesOf(
        mailboxSummaryRoute(summary),
        mailboxRoutes({ mailboxes, authorizeUrl: deps.authorizeUrl }),
        mailboxPollingRoutes(mailboxes, scheduler),
      ),
    },
    readiness: [],
    close: nothingToClose,
  };
}
