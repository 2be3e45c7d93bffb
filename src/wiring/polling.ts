/**
 * The polling capability assembled from the shared dependencies: the
 * schedule (used by every role: adding a mailbox schedules its first poll)
 * and the worker module (started by worker roles only).
 */
import type { QueueFactory } from '../adapters/queue/bullmq.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { Config } from '../config/config.js';
import type { EventPublisher } from '../domain/events/events.js';
import type { ConnectionService } from '../domain/connections/service.js';
import type { MailboxRecord, MailboxService } from '../domain/mailboxes/service.js';
import { summarizeMailboxes, type MailboxSummaryT } from '../domain/mailboxes/summary.js';
import type { BounceHandler } from '../domain/polling/bounce-check.js';
import { firstPollAt } from '../domain/polling/schedule.js';
import type { TokenService } from '../domain/tokens/token-service.js';
import { IMAP_HINTS } from '../adapters/imap/errors.js';
import { KeptPollSessions } from '../adapters/imap/poll-sessions.js';
import { parseMessage } from '../adapters/mail/parse.js';
import { PollCycle } from '../domain/polling/cycle.js';
import { PollingJobs } from '../jobs/polling/poll-worker.js';
import { POLL_QUEUE, PollScheduler, type PollJobData } from '../jobs/polling/scheduler.js';
import { PollShardMigration } from '../jobs/polling/shard-migration.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { registerFleetGauges } from '../observability/fleet-gauges.js';
import { liveWorkerIds, liveWorkers } from '../roles/heartbeat.js';
import type { KeySpace } from '../store/keys.js';
import { PollLocks } from '../store/poll-claim.js';
import type { PollMarks } from '../store/poll-marks.js';
import { RedisSemaphore } from '../store/semaphore.js';
import { RedisTrackedWindows } from '../store/tracked-windows.js';

export interface PollingWiringDeps {
  config: Config;
  redis: Redis;
  keys: KeySpace;
  queues: QueueFactory;
  mailboxes: MailboxService;
  connections: ConnectionService;
  tokens: TokenService;
  events: EventPublisher;
  metrics: Metrics;
  logger: Logger;
  ca: readonly string[];
  /** Delivery reports found among new mail, matched to their sends (the sending capability answers). */
  bounces?: BounceHandler;
  /** When each mailbox's last poll was recorded (the views read it too: wiring/mailboxes.ts). */
  marks: PollMarks;
}

export interface Polling {
  scheduler: PollScheduler;
  jobs: PollingJobs;
  /** One poll of one trigger, as a poll job runs it (tests and benches call it directly). */
  cycle: PollCycle;
  /** GET /v1/mailboxes/summary: counts, overdue mailboxes, live workers (also gauges in /metrics). */
  summary: () => Promise<MailboxSummaryT>;
}

export function createPolling(deps: PollingWiringDeps): Polling {
  const windows = new RedisTrackedWindows(deps.redis, (mailboxId, folder) => deps.keys.trackedWindow(mailboxId, folder), (err) => {
    deps.logger.warn({ err }, 'a tracked window could not be read: the folder takes a new baseline');
  });
  // One poll queue per shard, each under its shard's hash tag (store/keys.ts).
  const scheduler = new PollScheduler(deps.redis, deps.keys, (shard) => deps.queues.queue<PollJobData>(POLL_QUEUE, undefined, deps.keys.pollQueuePrefix(shard)));
  // The views read a mailbox's next poll from the schedule: nothing to note on the record.
  const pollAt = (m: MailboxRecord, due: number): Promise<void> => scheduler.schedule(m.id, due, m.pollIntervalSeconds * 1000).then(() => undefined);
  deps.mailboxes.listen({
    // Polls of mailboxes added together are spread over their interval.
    created: async (m) => {
      if (m.state === 'active') await pollAt(m, firstPollAt(m.id, m.pollIntervalSeconds * 1000, Date.now()));
    },
    authorized: async (m) => {
      if (m.state === 'active') await pollAt(m, Date.now());
    },
    resumed: async (m) => {
      if (m.state !== 'pending_authorization') await pollAt(m, Date.now());
    },
    paused: (m) => scheduler.unschedule(m.id),
    deleted: async (m) => {
      await scheduler.unschedule(m.id);
      await windows.remove(m.id, m.folders);
      await deps.marks.remove(m.id);
    },
  });
  const polling = deps.config.polling;
  const sessions = new KeptPollSessions({
    maxOpen: polling.maxSessions,
    idleMs: Math.max(polling.keepSessionsUnderSeconds * 2_000, 10_000),
    renewBeforeMs: 5 * 60_000,
    onSize: (size) => deps.metrics.imapConnections.set(size),
  }, () => deps.metrics.imapLogins.inc({ purpose: 'poll' }));
  const cycle = new PollCycle({
    schedule: scheduler,
    locks: new PollLocks(deps.redis, deps.keys),
    marks: deps.marks,
    permits: new RedisSemaphore(deps.redis),
    keys: deps.keys,
    sessions,
    mailboxes: deps.mailboxes,
    connections: deps.connections,
    tokens: deps.tokens,
    events: deps.events,
    windows,
    metrics: deps.metrics,
    logger: deps.logger.child({ module: 'polling' }),
    ca: deps.ca,
    unreachableHint: IMAP_HINTS.unreachable,
    parse: parseMessage,
    ...(deps.bounces ? { bounces: deps.bounces } : {}),
    settings: {
      keepSessionsUnderSeconds: polling.keepSessionsUnderSeconds,
      idle: polling.idle,
      // Extended every 5 s while a poll runs: a dead worker's mailbox is taken over within 15 s.
      lockTtlMs: 15_000,
      pollTimeoutMs: 40_000,
      maxMessagesPerFolder: 500,
      contentMaxBytes: deps.config.messages.parseMaxBytes,
      // With content wanted, a poll downloads at most this much per folder (seconds, even from a
      // slow server), well within its 40 s deadline; the next poll goes on at once.
      maxContentBytes: 32 * 1024 * 1024,
      tenantConcurrency: polling.tenantConcurrency,
      trackFullLookSeconds: polling.trackFullLookSeconds,
    },
  });
  const migration = new PollShardMigration({
    redis: deps.redis, keys: deps.keys, scheduler,
    queueAt: (prefix) => deps.queues.queue(POLL_QUEUE, undefined, prefix),
    logger: deps.logger.child({ module: 'polling' }),
  });
  const jobs = new PollingJobs({
    cycle,
    scheduler,
    migration,
    sessions,
    shards: {
      count: deps.keys.pollShards,
      of: (mailboxId) => deps.keys.pollShardOf(mailboxId),
      queuePrefix: (shard) => deps.keys.pollQueuePrefix(shard),
      liveWorkers: () => liveWorkerIds(deps.redis, deps.keys.workers()),
      // A dead worker's shards are taken over within this of its heartbeat expiring (WORKER_LIVE_MS).
      lookEveryMs: polling.shardLookMs,
    },
    logger: deps.logger.child({ module: 'polling' }),
    concurrency: polling.concurrency,
    // A mailbox whose poll trigger was lost (a job BullMQ gave up on while Redis was unreachable,
    // say) is queued again 10-15 s after it was due; one with a live job is left alone, so the
    // short grace costs nothing but a ZRANGEBYSCORE every 5 s when nothing is lost. It was
    // 30-45 s: in one fault run a Redis outage with a worker kill took 35 s to recover.
    sweepEveryMs: 5_000,
  });
  // Nothing polls when no worker runs: these show it (the heartbeat set and the schedule's overdue index).
  const workers = (): Promise<number> => liveWorkers(deps.redis, deps.keys.workers());
  const overdue = (): Promise<number> => scheduler.overdueCount();
  registerFleetGauges(deps.metrics, { workers, overdue });
  const summary = (): Promise<MailboxSummaryT> => summarizeMailboxes({ counts: () => deps.mailboxes.counts(), overdue, workers });
  return { scheduler, jobs, summary, cycle };
}
