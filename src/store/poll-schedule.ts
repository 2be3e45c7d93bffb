/**
 * The poll schedule in Redis. `pollDue` (mailbox id → due time, ms) is the
 * schedule; `pollOverdueAt` (mailbox id → due time + the mailbox's poll
 * interval) is an index beside it, so "how many mailboxes are overdue by more
 * than one interval" is one ZCOUNT instead of a walk over every mailbox.
 *
 * The index is exact or absent: the scripts (store/lua/poll-*.lua) write it
 * only while it exists, and poll-build-overdue-index makes it from pollDue in
 * one step when it is absent (the first count after an upgrade, or after the
 * schedule emptied). Both keys and the mailbox records share the control
 * plane's hash tag, so on a cluster each script runs in one slot; a script
 * reads a mailbox's interval from its record only when the caller did not give it.
 *
 * The BullMQ jobs that trigger each due time are jobs/polling/scheduler.ts's.
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { KeySpace } from './keys.js';
import { LuaScript } from './lua-script.js';

/** The interval of a mailbox whose record is gone or lacks one (ms): the service's default. */
export const FALLBACK_INTERVAL_MS = 60_000;

const SCHEDULE = new LuaScript('poll-schedule-3');
const UNSCHEDULE = new LuaScript('poll-unschedule-2');
const RESCHEDULE = new LuaScript('poll-reschedule-2');
const BUILD_OVERDUE_INDEX = new LuaScript('poll-build-overdue-index');

const asDue = (score: unknown): number | undefined => (score === null || score === undefined ? undefined : Number(score));

export class PollSchedule {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Makes `due` the mailbox's due time; answers the one it replaces. `intervalMs`, the mailbox's
   * poll interval, dates when it becomes overdue; without it, it is read from the record.
   */
  async schedule(mailboxId: string, due: number, intervalMs?: number): Promise<number | undefined> {
    const keys = [this.keys.pollDue(), this.keys.pollOverdueAt(), this.keys.mailbox(mailboxId)];
    return asDue(await SCHEDULE.run(this.redis, keys, [mailboxId, due, intervalMs ?? '', FALLBACK_INTERVAL_MS]));
  }

  /**
   * A poll's own next due time: moves the mailbox from `running` (the trigger that ran) to `due`,
   * only while `running` is still its due time; false when it is not (paused, deleted,
   * rescheduled meanwhile: left as it is).
   */
  async reschedule(mailboxId: string, running: number, due: number, intervalMs: number): Promise<boolean> {
    return (await RESCHEDULE.run(this.redis, [this.keys.pollDue(), this.keys.pollOverdueAt()], [mailboxId, running, due, intervalMs])) === 1;
  }

  /** Takes the mailbox off the schedule; answers the due time it had. */
  async unschedule(mailboxId: string): Promise<number | undefined> {
    return asDue(await UNSCHEDULE.run(this.redis, [this.keys.pollDue(), this.keys.pollOverdueAt()], [mailboxId]));
  }

  /** How many scheduled mailboxes are due more than one poll interval ago. */
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
    return asDue(await this.redis.zscore(this.keys.pollDue(), mailboxId));
  }

  /** The due times of these mailboxes, in order (ZMSCORE); undefined for one not scheduled. */
  async duesOf(mailboxIds: readonly string[]): Promise<(number | undefined)[]> {
    if (mailboxIds.length === 0) return [];
    return (await this.redis.zmscore(this.keys.pollDue(), ...mailboxIds)).map(asDue);
  }

  /** Mailboxes due more than `graceMs` ago, earliest first, at most `limit`. */
  async overdue(graceMs: number, limit: number): Promise<{ mailboxId: string; due: number }[]> {
    const flat = await this.redis.zrangebyscore(this.keys.pollDue(), '-inf', String(this.now() - graceMs), 'WITHSCORES', 'LIMIT', '0', String(limit));
    const overdue: { mailboxId: string; due: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) overdue.push({ mailboxId: flat[i]!, due: Number(flat[i + 1]) });
    return overdue;
  }
}
