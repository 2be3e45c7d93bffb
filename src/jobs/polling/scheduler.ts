/**
 * The poll schedule. A sorted set (mailbox id → due time) is the source of
 * truth; each due time also has one delayed BullMQ job that triggers it.
 * A job whose due time is no longer the mailbox's (rescheduled, paused,
 * deleted) does nothing when it fires. A sweeper re-adds the job of any
 * mailbox overdue by more than a grace period, so a job lost to a crash or
 * a Redis hiccup never leaves a mailbox unpolled.
 */
import type { Queue } from '../../adapters/queue/bullmq.js';
import type { Redis } from '../../adapters/redis/redis.js';
import type { KeySpace } from '../../store/keys.js';

export const POLL_QUEUE = 'poll';

export interface PollJobData {
  mailboxId: string;
  /** The due time (ms) this job triggers. */
  due: number;
}

export const pollJobId = (mailboxId: string, due: number): string => `p-${mailboxId}-${due}`;

export class PollScheduler {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
    /** Made on first use: building the scheduler opens no connection. */
    private readonly queueOf: () => Queue<PollJobData>,
    private readonly now: () => number = Date.now,
  ) {}

  private get queue(): Queue<PollJobData> {
    return this.queueOf();
  }

  /** Makes `due` the mailbox's next poll, replacing whatever was scheduled. */
  async schedule(mailboxId: string, due: number): Promise<void> {
    const previous = await this.redis.zscore(this.keys.pollDue(), mailboxId);
    await this.redis.zadd(this.keys.pollDue(), String(due), mailboxId);
    await this.queue.add('poll', { mailboxId, due }, {
      jobId: pollJobId(mailboxId, due),
      delay: Math.max(0, due - this.now()),
      removeOnComplete: true,
      removeOnFail: true,
    });
    if (previous !== null && Number(previous) !== due) {
      // A job that is already running cannot be removed; it will find itself stale.
      await this.queue.remove(pollJobId(mailboxId, Number(previous))).catch(() => 0);
    }
  }

  async pollNow(mailboxId: string): Promise<void> {
    await this.schedule(mailboxId, this.now());
  }

  async unschedule(mailboxId: string): Promise<void> {
    const previous = await this.redis.zscore(this.keys.pollDue(), mailboxId);
    await this.redis.zrem(this.keys.pollDue(), mailboxId);
    if (previous !== null) await this.queue.remove(pollJobId(mailboxId, Number(previous))).catch(() => 0);
  }

  async dueOf(mailboxId: string): Promise<number | undefined> {
    const score = await this.redis.zscore(this.keys.pollDue(), mailboxId);
    return score === null ? undefined : Number(score);
  }

  /** Re-adds the trigger of every mailbox overdue by more than `graceMs`; returns how many. */
  async sweep(graceMs: number, limit = 1000): Promise<number> {
    const overdue = await this.redis.zrangebyscore(this.keys.pollDue(), '-inf', String(this.now() - graceMs), 'WITHSCORES', 'LIMIT', '0', String(limit));
    let readded = 0;
    for (let i = 0; i < overdue.length; i += 2) {
      const mailboxId = overdue[i]!;
      const due = Number(overdue[i + 1]);
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
