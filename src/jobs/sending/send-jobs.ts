/**
 * Sending on BullMQ: one job per accepted message, `{ sendId }` and nothing
 * else (no content, no token), with the send id as job id so queueing twice
 * is harmless. The processor runs one Delivery; a message that must wait (a
 * rate window is full) or retry (a transient failure) is moved back to the
 * delayed set with `job.moveToDelayed` + DelayedError: the same job, not an
 * attempt in BullMQ's count, never lost.
 *
 * Jobs are queued by the outbox relay (outbox-relay.ts), which this module
 * starts and stops with the BullMQ worker.
 *
 * A worker killed mid-job: its lock runs out after `stallTimeoutMs`, and
 * BullMQ's stalled-job check (in any worker) runs the job again; the
 * Delivery's `submitting` marker tells that attempt the previous one may have
 * submitted the message. The sweeper, in every worker process, queues again
 * the unfinished messages whose job is gone (a relay died between taking an
 * id and queueing its job; a job failed on unexpected errors).
 *
 * Scheduled messages (sendAt) have no job and no outbox entry until they are
 * due: every worker process looks at the scheduled set each
 * `scheduleIntervalMs` and moves the due ones to the queue in one script per
 * batch (status queued, pending index, outbox), so a message is queued once
 * however many workers look, and survives any of them dying (it stays in the
 * set until moved). It goes out up to one interval after its time.
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { DelayedError, type Job, type JobsOptions, type QueueFactory } from '../../adapters/queue/bullmq.js';
import type { SmtpSendPool } from '../../adapters/smtp/send-pool.js';
import { idPattern } from '../../domain/ids.js';
import type { Delivery } from '../../domain/sending/delivery.js';
import type { Logger } from '../../logging/logger.js';
import type { SendStore } from '../../store/send-store.js';
import type { OutboxRelay } from './outbox-relay.js';
import type { JobHandler, JobModule, Sweeper } from '../runtime.js';

export const SEND_QUEUE = 'send';
const SEND_JOB = 'send';

export const SendJobPayload = Type.Object(
  { sendId: Type.String({ pattern: idPattern('snd') }) },
  { additionalProperties: false },
);
export type SendJobPayloadT = Static<typeof SendJobPayload>;
const payloadCheck = Compile(SendJobPayload);

/** Unexpected errors (Redis down mid-job) are retried by BullMQ a few times; SMTP outcomes never reach it. */
const JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: { age: 7 * 86_400 },
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
};

/** How often the SMTP pool is swept (idle pools closed, connection slots renewed): at most every 10 s. */
export function poolSweepMs(sweepIntervalMs: number): number {
  return Math.min(sweepIntervalMs, 10_000);
}

/** How many unfinished messages one sweep step looks at. */
const SWEEP_BATCH = 200;

/** How many due scheduled messages one script moves; a tick moves batches until none is left. */
const RELEASE_BATCH = 100;

/**
 * Queues the job of an accepted message. One `add` per message: concurrent adds share the
 * connection's pipeline, and measured here addBulk was slower per job (its MULTI and per-job
 * bookkeeping cost more than the round trips it saves).
 */
export function createEnqueue(queues: QueueFactory): (sendId: string) => Promise<void> {
  return async (sendId) => {
    await queues.queue<SendJobPayloadT>(SEND_QUEUE).add(SEND_JOB, { sendId }, { ...JOB_OPTIONS, jobId: sendId });
  };
}

export interface SendingJobsSettings {
  concurrency: number;
  stallTimeoutMs: number;
  sweepIntervalMs: number;
  /** How often each worker moves scheduled messages that are due to the queue (ms). */
  scheduleIntervalMs: number;
}

export interface SendingJobsDeps {
  /** The send queue (the sweeper looks up a message's job). */
  queues: Pick<QueueFactory, 'queue'>;
  /** See createEnqueue (the sweeper queues again through it). */
  enqueue: (sendId: string) => Promise<void>;
  relay: Pick<OutboxRelay, 'start' | 'stop'>;
  delivery: Pick<Delivery, 'run'>;
  store: Pick<SendStore, 'pendingBefore' | 'releaseDue'>;
  pool: Pick<SmtpSendPool, 'sweep' | 'closeAll'>;
  settings: SendingJobsSettings;
  logger: Logger;
  now?: () => number;
}

export class SendingJobs implements JobModule {
  readonly name = 'sending';
  readonly handlers: readonly JobHandler<SendJobPayloadT>[];
  readonly sweepers: readonly Sweeper[];
  private cursor = 0;
  private readonly now: () => number;

  constructor(private readonly deps: SendingJobsDeps) {
    this.now = deps.now ?? Date.now;
    const { settings, logger } = deps;
    this.handlers = [{
      queue: SEND_QUEUE,
      process: (job, token) => this.process(job, token),
      settings: {
        concurrency: settings.concurrency,
        lockDurationMs: settings.stallTimeoutMs,
        stalledIntervalMs: settings.stallTimeoutMs,
        // A job whose worker dies is run again; a message that keeps killing workers ends by its attempt count.
        maxStalledCount: 5,
      },
      failed: (job, err) => logger.warn({ err, jobId: job?.id }, 'send job failed'),
    }];
    this.sweepers = [
      // Idle SMTP connections, and those of a token about to expire, close.
      { everyMs: poolSweepMs(settings.sweepIntervalMs), run: () => deps.pool.sweep(), failed: (err) => logger.warn({ err }, 'send sweep failed') },
      { everyMs: settings.sweepIntervalMs, run: () => this.sweep(), failed: (err) => logger.warn({ err }, 'send sweep failed') },
      { everyMs: settings.scheduleIntervalMs, run: () => this.releaseDue(), failed: (err) => logger.warn({ err }, 'scheduled messages not released') },
    ];
  }

  onStart(): void {
    this.deps.relay.start();
  }

  /** Stops taking messages first: the relay stops, then the runtime lets the messages being sent finish. */
  async onStopping(): Promise<void> {
    await this.deps.relay.stop();
  }

  /** Then the SMTP connections close. */
  onStopped(): void {
    this.deps.pool.closeAll();
  }

  private async process(job: Job<SendJobPayloadT>, token: string | undefined): Promise<string> {
    if (!payloadCheck.Check(job.data)) {
      this.deps.logger.warn({ jobId: job.id }, 'send job with an invalid payload dropped');
      return 'invalid';
    }
    const outcome = await this.deps.delivery.run(job.data.sendId);
    if (outcome.kind === 'wait' || outcome.kind === 'retry') {
      await job.moveToDelayed(this.now() + outcome.delayMs, token);
      throw new DelayedError();
    }
    return outcome.kind;
  }

  /** Moves the scheduled messages whose time has come to the queue; answers how many this worker moved. */
  async releaseDue(): Promise<number> {
    let moved = 0;
    for (;;) {
      const ids = await this.deps.store.releaseDue(new Date(this.now()), RELEASE_BATCH);
      moved += ids.length;
      // Fewer moved than a batch: the set has no more due now (or another worker is moving them).
      if (ids.length < RELEASE_BATCH) break;
    }
    if (moved > 0) this.deps.logger.debug({ moved }, 'scheduled messages due: queued');
    return moved;
  }

  /** Queues again the unfinished messages, accepted at least one sweep interval ago, that have no live job. */
  async sweep(): Promise<number> {
    const queue = this.deps.queues.queue<SendJobPayloadT>(SEND_QUEUE);
    // A rolling window over the index: a long backlog of delayed messages is looked at a batch per tick.
    const ids = await this.deps.store.pendingBefore(this.now() - this.deps.settings.sweepIntervalMs, this.cursor, SWEEP_BATCH);
    this.cursor = ids.length < SWEEP_BATCH ? 0 : this.cursor + ids.length;
    let queued = 0;
    for (const sendId of ids) {
      const job = await queue.getJob(sendId);
      const state = job ? await job.getState() : 'missing';
      if (state === 'waiting' || state === 'delayed' || state === 'active' || state === 'prioritized' || state === 'waiting-children') continue;
      if (job) await job.remove().catch(() => undefined);
      await this.deps.enqueue(sendId);
      queued += 1;
    }
    if (queued > 0) this.deps.logger.info({ queued }, 'unfinished messages without a job queued again');
    return queued;
  }
}
