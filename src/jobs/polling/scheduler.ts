/**
 * The poll schedule. A sorted set (mailbox id → due time) is the source of
 * truth; each due time also has one delayed BullMQ job that triggers it.
 * A job whose due time is no longer the mailbox's (rescheduled, paused,
 * deleted) does nothing when it fires. A sweeper re-adds the job of any
 * mailbox overdue by more than a grace period, so a job lost to a crash or
 * a Redis hiccup never leaves a mailbox unpolled. Beside the schedule, an
 * index of when each mailbox becomes overdue (store/poll-schedule-scripts.ts)
 * answers how many are overdue with one ZCOUNT (GET /v1/mailboxes/summary,
 * /metrics): what shows that no worker polls.
 */
import type { Queue } from '../../adapters/queue/bullmq.js';
import type { Redis } from '../../adapters/redis/redis.js';
import { requireId } from '../../domain/ids.js';
import type { KeySpace } from '../../store/keys.js';
import { BUILD_OVERDUE_INDEX, FALLBACK_INTERVAL_MS, SCHEDULE, UNSCHEDULE } from '../../store/poll-schedule-scripts.js';

export const POLL_QUEUE = 'poll';

export interface PollJobData {
  mailboxId: string;
  /** The due time (ms) this job triggers. */
  due: number;
}

/** The job id is part of a BullMQ key: only a mailbox id of its shape may go in it (MalformedIdError otherwise). */
export const pollJobId = (mailboxId: string, due: number): string => `p-${requireId(mailboxId, 'mbx')}-${due}`;

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

  /**
   * Makes `due` the mailbox's next poll, replacing whatever was scheduled. `intervalMs`, the
   * mailbox's poll interval, dates when it becomes overdue; without it, it is read from the record.
   */
  async schedule(mailboxId: string, due: number, intervalMs?: number): Promise<void> {
    const keys = [this.keys.pollDue(), this.keys.pollOverdueAt(), this.keys.mailbox(mailboxId)];
    const previous = await SCHEDULE.run(this.redis, keys, [mailboxId, due, intervalMs ?? '', FALLBACK_INTERVAL_MS]) as string | null;
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
    const previous = await UNSCHEDULE.run(this.redis, [this.keys.pollDue(), this.keys.pollOverdueAt()], [mailboxId]) as string | null;
    if (previous !== null) await this.queue.remove(pollJobId(mailboxId, Number(previous))).catch(() => 0);
  }

  /** How many scheduled mailboxes are due more than one poll interval ago: none while workers keep up. */
  async overdueCount(): Promise<number> {
    await this.buildOverdueIndex();
    return this.redis.zcount(this.keys.pollOverdueAt(), '-inf', `(${this.now()}`);
  }

  /**
   * The overdue index, made from the schedule when it is absent: once after an upgrade (the one
   * read of the whole schedule), or when the schedule emptied. A schedule that changes meanwhile
   * makes the build give up; it is read again, a few times at most.
   */
  private async buildOverdueIndex(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await this.redis.exists(this.keys.pollOverdueAt())) === 1) return;
      const ids = await this.redis.zrange(this.keys.pollDue(), '0', '-1');
      if (ids.length === 0) return;
      const keys = [this.keys.pollOverdueAt(), this.keys.pollDue(), ...ids.map((id) => this.keys.mailbox(id))];
      // Sent as source (it runs once) and as one array: a hundred thousand spread arguments overflow the stack.
      if ((await this.redis.eval(BUILD_OVERDUE_INDEX.source, keys.length, [...keys, String(FALLBACK_INTERVAL_MS), ...ids])) === 1) return;
    }
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
