/**
 * The poll schedule. A sorted set (mailbox id → due time) is the source of
 * truth; each due time also has one delayed BullMQ job that triggers it.
 * A job whose due time is no longer the mailbox's (rescheduled, paused,
 * deleted) does nothing when it fires. A sweeper re-adds the job of any
 * mailbox overdue by more than a grace period, so a job lost to a crash or
 * a Redis hiccup never leaves a mailbox unpolled. Beside the schedule, an
 * index of when each mailbox becomes overdue answers how many are overdue
 * with one ZCOUNT (GET /v1/mailboxes/summary, /metrics): what shows that no
 * worker polls. Both are kept in Redis by store/poll-schedule.ts; this class
 * keeps the jobs in step with them.
 */
import type { Queue } from '../../adapters/queue/bullmq.js';
import type { Redis } from '../../adapters/redis/redis.js';
import { requireId } from '../../domain/ids.js';
import type { KeySpace } from '../../store/keys.js';
import { PollSchedule } from '../../store/poll-schedule.js';

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

export class PollScheduler {
  private readonly dues: PollSchedule;

  constructor(
    redis: Redis,
    keys: KeySpace,
    /** Made on first use: building the scheduler opens no connection. */
    private readonly queueOf: () => Queue<PollJobData>,
    private readonly now: () => number = Date.now,
  ) {
    this.dues = new PollSchedule(redis, keys, now);
  }

  private get queue(): Queue<PollJobData> {
    return this.queueOf();
  }

  /**
   * Makes `due` the mailbox's next poll, replacing whatever was scheduled. `intervalMs`, the
   * mailbox's poll interval, dates when it becomes overdue; without it, it is read from the record.
   * `running`: the due whose job is running now (a poll rescheduling itself): its job is not asked
   * to go, since a running job cannot be removed and is removed when it completes; that was one
   * script run per poll for nothing.
   */
  async schedule(mailboxId: string, due: number, intervalMs?: number, running?: number): Promise<void> {
    const previous = await this.dues.schedule(mailboxId, due, intervalMs);
    await this.queue.add('poll', { mailboxId, due }, {
      jobId: pollJobId(mailboxId, due),
      delay: Math.max(0, due - this.now()),
      removeOnComplete: true,
      removeOnFail: true,
    });
    if (previous !== undefined && previous !== due && previous !== running) {
      // A job that is already running cannot be removed; it will find itself stale.
      await this.queue.remove(pollJobId(mailboxId, previous)).catch(() => 0);
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
    const delay = Math.max(0, due - this.now());
    const trigger = (): Promise<unknown> => this.queue.add('poll', { mailboxId, due }, {
      jobId: pollJobId(mailboxId, due), delay, removeOnComplete: true, removeOnFail: true,
    });
    const moved = this.dues.reschedule(mailboxId, running, due, intervalMs);
    if (delay >= RACE_FREE_DELAY_MS) return (await Promise.all([moved, trigger()]))[0];
    if (!(await moved)) return false;
    await trigger();
    return true;
  }

  async pollNow(mailboxId: string): Promise<void> {
    await this.schedule(mailboxId, this.now());
  }

  async unschedule(mailboxId: string): Promise<void> {
    const previous = await this.dues.unschedule(mailboxId);
    if (previous !== undefined) await this.queue.remove(pollJobId(mailboxId, previous)).catch(() => 0);
  }

  /** How many scheduled mailboxes are due more than one poll interval ago: none while workers keep up. */
  async overdueCount(): Promise<number> {
    return this.dues.overdueCount();
  }

  async dueOf(mailboxId: string): Promise<number | undefined> {
    return this.dues.dueOf(mailboxId);
  }

  /** Re-adds the trigger of every mailbox overdue by more than `graceMs`; returns how many. */
  async sweep(graceMs: number, limit = 1000): Promise<number> {
    let readded = 0;
    for (const { mailboxId, due } of await this.dues.overdue(graceMs, limit)) {
      const job = await this.queue.getJob(pollJobId(mailboxId, due));
      const state = job ? await job.getState() : 'missing';
      if (state === 'waiting' || state === 'delayed' || state === 'active' || state === 'prioritized') continue;
      if (job) await job.remove().catch(() => undefined);
      await this.queue.add('poll', { mailboxId, due }, { jobId: pollJobId(mailboxId, due), removeOnComplete: true, removeOnFail: true });
      readded += 1;
    }
    return readded;
  }
}
