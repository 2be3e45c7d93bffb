/**
 * The poll schedule. Per poll shard (store/poll-shards.ts), a sorted set
 * (mailbox id → due time) is the source of truth; each due time also has one
 * delayed BullMQ job, in its shard's queue, that triggers it. A job whose due
 * time is no longer the mailbox's (rescheduled, paused, deleted) does nothing
 * when it fires. A sweeper re-adds the job of any mailbox overdue by more than
 * a grace period, in every shard, so a job lost to a crash, a Redis hiccup or
 * a change of shard count never leaves a mailbox unpolled. Beside the
 * schedule, an index of when each mailbox becomes overdue answers how many
 * are overdue with one ZCOUNT per shard (GET /v1/mailboxes/summary, /metrics):
 * what shows that no worker polls. Both are kept in Redis by
 * store/poll-schedule.ts; this class keeps the jobs in step with them.
 */
import type { JobType, Queue } from '../../adapters/queue/bullmq.js';
import type { Redis } from '../../adapters/redis/redis.js';
import { requireId } from '../../domain/ids.js';
import type { KeySpace } from '../../store/keys.js';
import { PollSchedule, type ScheduledPoll } from '../../store/poll-schedule.js';
import { allShards } from '../../store/poll-shards.js';

/** The poll queue's name: one queue of this name per shard, each under its shard's prefix. */
export const POLL_QUEUE = 'poll';

/** A job due this far away cannot run before a schedule change sent with it lands (ms). */
const RACE_FREE_DELAY_MS = 1_000;

export interface PollJobData {
  mailboxId: string;
  /** The due time (ms) this job triggers. */
  due: number;
}

/** The job id is part of a BullMQ key: only a mailbox id of its shape may go in it (MalformedIdError otherwise). */
export const pollJobId = (mailboxId: string, due: number): string => `p-${requireId(mailboxId, 'mbx')}-${due}`;

/** Job states in which a trigger is alive: the sweeper leaves it alone. */
const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized']);

export class PollScheduler {
  private readonly dues: PollSchedule;

  constructor(
    redis: Redis,
    private readonly keys: KeySpace,
    /** A shard's poll queue, made on first use: building the scheduler opens no connection. */
    private readonly queueOf: (shard: number) => Queue<PollJobData>,
    private readonly now: () => number = Date.now,
  ) {
    this.dues = new PollSchedule(redis, keys, now);
  }

  /** The poll queue of a mailbox's shard. */
  queueFor(mailboxId: string): Queue<PollJobData> {
    return this.queueOf(this.keys.pollShardOf(mailboxId));
  }

  /**
   * Makes `due` the mailbox's next poll, replacing whatever was scheduled. `intervalMs`, the
   * mailbox's poll interval, dates when it becomes overdue; without it, it is read from the record
   * first (one GET: the record lives under another hash tag than the schedule).
   * `running`: the due whose job is running now (a poll rescheduling itself): its job is not asked
   * to go, since a running job cannot be removed and is removed when it completes; that was one
   * script run per poll for nothing.
   */
  async schedule(mailboxId: string, due: number, intervalMs?: number, running?: number): Promise<void> {
    const previous = await this.dues.schedule(mailboxId, due, intervalMs ?? await this.dues.intervalOf(mailboxId));
    const queue = this.queueFor(mailboxId);
    await this.trigger(queue, { mailboxId, due });
    if (previous !== undefined && previous !== due && previous !== running) {
      // A job that is already running cannot be removed; it will find itself stale.
      await queue.remove(pollJobId(mailboxId, previous)).catch(() => 0);
    }
  }

  /**
   * A poll's own next poll: `due` replaces `running` (the due time whose job runs now) only while
   * `running` is still the mailbox's due time; false otherwise (a pause, deletion, resume or "poll
   * now" meanwhile won). The running job goes when it completes.
   *
   * A due time a second or more away gets its job at once, beside the schedule's change (the
   * queue has a connection of its own: one round trip instead of two); if the change is refused,
   * that job finds itself stale when it fires and does nothing. A due time sooner gets its job
   * only once the schedule has it, or the job could run first, find itself stale, and the mailbox
   * would wait for the sweeper.
   */
  async reschedule(mailboxId: string, running: number, due: number, intervalMs: number): Promise<boolean> {
    const trigger = (): Promise<unknown> => this.trigger(this.queueFor(mailboxId), { mailboxId, due });
    const moved = this.dues.reschedule(mailboxId, running, due, intervalMs);
    if (due - this.now() >= RACE_FREE_DELAY_MS) return (await Promise.all([moved, trigger()]))[0];
    if (!(await moved)) return false;
    await trigger();
    return true;
  }

  async pollNow(mailboxId: string): Promise<void> {
    await this.schedule(mailboxId, this.now());
  }

  async unschedule(mailboxId: string): Promise<void> {
    const previous = await this.dues.unschedule(mailboxId);
    if (previous !== undefined) await this.queueFor(mailboxId).remove(pollJobId(mailboxId, previous)).catch(() => 0);
  }

  /** How many scheduled mailboxes are due more than one poll interval ago, over every shard: none while workers keep up. */
  async overdueCount(): Promise<number> {
    return this.dues.overdueCount();
  }

  async dueOf(mailboxId: string): Promise<number | undefined> {
    return this.dues.dueOf(mailboxId);
  }

  /** Job counts by state summed over every shard's poll queue (`mailsync_queue_jobs{queue="poll"}`). */
  async jobCounts(...states: string[]): Promise<Record<string, number>> {
    const counts = await Promise.all(allShards(this.keys.pollShards).map((shard) => this.queueOf(shard).getJobCounts(...(states as JobType[]))));
    const sum: Record<string, number> = {};
    for (const byState of counts) for (const [state, n] of Object.entries(byState)) sum[state] = (sum[state] ?? 0) + n;
    return sum;
  }

  /** Re-adds the trigger of every mailbox overdue by more than `graceMs`, in every shard; returns how many. */
  async sweep(graceMs: number, limit = 1000): Promise<number> {
    let readded = 0;
    for (const shard of allShards(this.keys.pollShards)) readded += await this.sweepShard(shard, graceMs, limit);
    return readded;
  }

  private async sweepShard(shard: number, graceMs: number, limit: number): Promise<number> {
    let readded = 0;
    const queue = this.queueOf(shard);
    for (const { mailboxId, due } of await this.dues.overdue(shard, graceMs, limit)) {
      if (await this.readd(queue, { mailboxId, due })) readded += 1;
    }
    return readded;
  }

  /** Adds the trigger of a scheduled poll unless a live one is there; true when added. */
  private async readd(queue: Queue<PollJobData>, { mailboxId, due }: ScheduledPoll): Promise<boolean> {
    const job = await queue.getJob(pollJobId(mailboxId, due));
    const state = job ? await job.getState() : 'missing';
    if (LIVE_STATES.has(state)) return false;
    if (job) await job.remove().catch(() => undefined);
    await this.trigger(queue, { mailboxId, due });
    return true;
  }

  /** The job that fires a scheduled poll at its due time (at once when due already); its id names the due time. */
  private async trigger(queue: Queue<PollJobData>, { mailboxId, due }: ScheduledPoll): Promise<void> {
    await queue.add('poll', { mailboxId, due }, {
      jobId: pollJobId(mailboxId, due), delay: Math.max(0, due - this.now()), removeOnComplete: true, removeOnFail: true,
    });
  }
}
