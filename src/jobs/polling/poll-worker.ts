/**
 * The poll job: a BullMQ job per scheduled poll (jobs/polling/scheduler.ts)
 * runs the mailbox's poll cycle (domain/polling/cycle.ts) once. This module
 * only checks the payload, puts a trigger whose mailbox another worker holds
 * back by a second or two, runs a worker per poll shard the process owns
 * (shard-owner.ts), and runs the sweeper that moves the schedule to this
 * shard layout (shard-migration.ts) and re-adds lost triggers.
 */
import { DelayedError, type Job } from '../../adapters/queue/bullmq.js';
import { isId } from '../../domain/ids.js';
import type { CycleOutcome, PollCycle } from '../../domain/polling/cycle.js';
import type { Logger } from '../../logging/logger.js';
import type { JobHandler, JobModule, Sweeper, WorkerControl } from '../runtime.js';
import { POLL_QUEUE, type PollJobData, type PollScheduler } from './scheduler.js';
import { ShardOwner } from './shard-owner.js';

export interface PollingJobsDeps {
  cycle: PollCycle;
  scheduler: Pick<PollScheduler, 'sweep'>;
  /** Moves the schedule to this process's shard layout when Redis holds another (run before each sweep). */
  migration: { run(): Promise<number> };
  /** The kept sessions: closed when the worker stops, kept again when it starts, dropped per shard given up. */
  sessions: { reopen(): void; closeAll(): Promise<void>; dropWhere(drop: (mailboxId: string) => boolean): void };
  shards: {
    count: number;
    /** A mailbox's shard. */
    of(mailboxId: string): number;
    /** A shard's queue prefix (its hash tag). */
    queuePrefix(shard: number): string;
    /** The ids of the live worker processes. */
    liveWorkers(): Promise<string[]>;
    /** How often ownership is looked at (ms). */
    lookEveryMs: number;
  };
  logger: Logger;
  /** Polls one worker process runs at once, over all the shards it owns. */
  concurrency: number;
  sweepEveryMs: number;
}

export class PollingJobs implements JobModule {
  readonly name = 'polling';
  readonly handlers: readonly JobHandler<PollJobData>[] = [];
  readonly dynamicQueues = [POLL_QUEUE];
  readonly sweepers: readonly Sweeper[];
  private readonly handler: JobHandler<PollJobData>;
  private owner: ShardOwner | undefined;

  constructor(private readonly deps: PollingJobsDeps) {
    this.handler = {
      queue: POLL_QUEUE,
      process: (job, token) => this.process(job, token),
      settings: {
        concurrency: deps.concurrency,
        // Polls are short: a dead worker's poll jobs are re-run within about 15 s;
        // the re-run waits (retrying every 1–2 s) until the dead poll's lock
        // lapses, at most the lock's lifetime after its last extension.
        lockDurationMs: 10_000,
        stalledIntervalMs: 5_000,
        // A poll that keeps stalling is dropped by BullMQ; the sweeper re-adds its trigger.
        maxStalledCount: 3,
      },
    };
    this.sweepers = [{
      everyMs: deps.sweepEveryMs,
      run: async () => {
        await deps.migration.run();
        return deps.scheduler.sweep(deps.sweepEveryMs * 2);
      },
      failed: (err) => deps.logger.warn({ err }, 'poll sweep failed'),
    }];
  }

  /** The poll shards this process runs now (empty before start). */
  ownedShards(): number[] {
    return this.owner?.owned() ?? [];
  }

  async onStart(control: WorkerControl): Promise<void> {
    this.deps.cycle.resume();
    this.deps.sessions.reopen();
    const { shards } = this.deps;
    this.owner = new ShardOwner({
      shards: shards.count,
      liveWorkers: () => shards.liveWorkers(),
      startShard: (shard, concurrency) => control.start({ ...this.handler, settings: { ...this.handler.settings, concurrency } }, shards.queuePrefix(shard)),
      gaveUp: (lost) => {
        const set = new Set(lost);
        this.deps.sessions.dropWhere((mailboxId) => set.has(shards.of(mailboxId)));
      },
      concurrency: this.deps.concurrency,
      everyMs: shards.lookEveryMs,
      logger: this.deps.logger,
    });
    await this.owner.start(control.workerId);
  }

  /** No session is kept from now on, and the kept ones close (before the workers stop, as always). */
  async onStopping(): Promise<void> {
    await this.owner?.stop();
    this.deps.cycle.stop();
    await this.deps.sessions.closeAll();
  }

  private async process(job: Job<PollJobData>, token: string | undefined): Promise<CycleOutcome | 'invalid'> {
    const { mailboxId, due } = job.data;
    if (!isId(mailboxId, 'mbx') || !Number.isSafeInteger(due)) {
      this.deps.logger.warn({ jobId: job.id }, 'poll job with an invalid payload dropped');
      return 'invalid';
    }
    const outcome = await this.deps.cycle.run(mailboxId, due);
    // Another worker is polling this mailbox, or a dead one's lock has not lapsed yet:
    // try again in a second or two rather than wait for the sweeper.
    if (outcome !== 'busy' || !token) return outcome;
    await job.moveToDelayed(this.deps.cycle.soon(), token);
    throw new DelayedError();
  }
}
