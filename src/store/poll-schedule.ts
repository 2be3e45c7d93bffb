/**
 * The poll schedule in Redis, cut into poll shards (store/poll-shards.ts).
 * Per shard, `pollDue` (mailbox id → due time, ms) is the schedule and
 * `pollOverdueAt` (mailbox id → due time + the mailbox's poll interval) an
 * index beside it, so "how many mailboxes are overdue by more than one
 * interval" is one ZCOUNT per shard instead of a walk over every mailbox.
 *
 * The index is exact or absent: the scripts (store/lua/poll-*.lua) write it
 * only while it exists, and poll-build-overdue-index makes it from pollDue in
 * one step when it is absent (the first count after an upgrade, or after the
 * shard emptied). A shard's keys share its hash tag, so each script runs in
 * one slot; the mailbox records live under the control plane's tag, so a
 * mailbox's interval is read from its record before a script runs, never in it.
 *
 * The BullMQ jobs that trigger each due time are jobs/polling/scheduler.ts's.
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { KeySpace } from './keys.js';
import { LuaScript } from './lua-script.js';
import { allShards } from './poll-shards.js';

/** The interval of a mailbox whose record is gone or lacks one (ms): the service's default. */
export const FALLBACK_INTERVAL_MS = 60_000;
/** Records read per MGET while building an overdue index. */
const RECORDS_PER_READ = 500;

const SCHEDULE = new LuaScript('poll-schedule-2');
const UNSCHEDULE = new LuaScript('poll-unschedule-2');
const RESCHEDULE = new LuaScript('poll-reschedule-2');
const BUILD_OVERDUE_INDEX = new LuaScript('poll-build-overdue-index-2');

const asDue = (score: unknown): number | undefined => (score === null || score === undefined ? undefined : Number(score));

/** A stored mailbox record's poll interval (ms), or the fallback. */
export function intervalOfRecord(raw: string | null | undefined): number {
  if (!raw) return FALLBACK_INTERVAL_MS;
  try {
    const seconds = (JSON.parse(raw) as { pollIntervalSeconds?: unknown }).pollIntervalSeconds;
    return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : FALLBACK_INTERVAL_MS;
  } catch {
    return FALLBACK_INTERVAL_MS;
  }
}

export interface ScheduledPoll {
  mailboxId: string;
  due: number;
}

export class PollSchedule {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
    private readonly now: () => number = Date.now,
  ) {}

  /** The mailbox's poll interval (ms) as its record states it: one GET on the control plane. */
  async intervalOf(mailboxId: string): Promise<number> {
    return intervalOfRecord(await this.redis.get(this.keys.mailbox(mailboxId)));
  }

  /** Makes `due` the mailbox's due time in its shard; answers the one it replaces. `intervalMs` dates when it becomes overdue. */
  async schedule(mailboxId: string, due: number, intervalMs: number): Promise<number | undefined> {
    const shard = this.keys.pollShardOf(mailboxId);
    return asDue(await SCHEDULE.run(this.redis, [this.keys.pollDue(shard), this.keys.pollOverdueAt(shard)], [mailboxId, due, intervalMs]));
  }

  /**
   * A poll's own next due time: moves the mailbox from `running` (the trigger that ran) to `due`,
   * only while `running` is still its due time; false when it is not (paused, deleted,
   * rescheduled meanwhile: left as it is).
   */
  async reschedule(mailboxId: string, running: number, due: number, intervalMs: number): Promise<boolean> {
    const shard = this.keys.pollShardOf(mailboxId);
    return (await RESCHEDULE.run(this.redis, [this.keys.pollDue(shard), this.keys.pollOverdueAt(shard)], [mailboxId, running, due, intervalMs])) === 1;
  }

  /** Takes the mailbox off the schedule; answers the due time it had. */
  async unschedule(mailboxId: string): Promise<number | undefined> {
    const shard = this.keys.pollShardOf(mailboxId);
    return asDue(await UNSCHEDULE.run(this.redis, [this.keys.pollDue(shard), this.keys.pollOverdueAt(shard)], [mailboxId]));
  }

  /**
   * How many scheduled mailboxes are due more than one poll interval ago: the sum over the shards
   * (one ZCOUNT each, sent together), plus the unsharded index of an older version until a worker
   * has moved it (jobs/polling/shard-migration.ts).
   */
  async overdueCount(): Promise<number> {
    const now = `(${this.now()}`;
    const counts = await Promise.all([
      ...allShards(this.keys.pollShards).map(async (shard) => {
        await this.buildOverdueIndex(shard);
        return this.redis.zcount(this.keys.pollOverdueAt(shard), '-inf', now);
      }),
      this.redis.zcount(this.keys.legacyPoll.overdueAt(), '-inf', now),
    ]);
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /**
   * A shard's overdue index, made from its schedule when it is absent: once after an upgrade, or
   * when the shard emptied. A schedule that changes meanwhile makes the build give up; it is read
   * again, a few times at most.
   */
  private async buildOverdueIndex(shard: number): Promise<void> {
    const index = this.keys.pollOverdueAt(shard);
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await this.redis.exists(index)) === 1) return;
      const flat = await this.redis.zrange(this.keys.pollDue(shard), '0', '-1', 'WITHSCORES');
      if (flat.length === 0) return;
      const args: string[] = [];
      for (let i = 0; i < flat.length; i += RECORDS_PER_READ * 2) {
        const ids: string[] = [];
        for (let j = i; j < Math.min(flat.length, i + RECORDS_PER_READ * 2); j += 2) ids.push(flat[j]!);
        const records = await this.redis.mget(...ids.map((id) => this.keys.mailbox(id)));
        ids.forEach((id, k) => {
          const due = flat[i + k * 2 + 1]!;
          args.push(id, due, String(Number(due) + intervalOfRecord(records[k])));
        });
      }
      // Sent as source (it runs once) and as one array: a hundred thousand spread arguments overflow the stack.
      if ((await this.redis.eval(BUILD_OVERDUE_INDEX.source, 2, [index, this.keys.pollDue(shard), ...args])) === 1) return;
    }
  }

  async dueOf(mailboxId: string): Promise<number | undefined> {
    return asDue(await this.redis.zscore(this.keys.pollDue(this.keys.pollShardOf(mailboxId)), mailboxId));
  }

  /**
   * The due times of these mailboxes, in order; undefined for one not scheduled: one ZMSCORE per
   * shard they fall in, sent together.
   */
  async duesOf(mailboxIds: readonly string[]): Promise<(number | undefined)[]> {
    const byShard = new Map<number, number[]>();
    mailboxIds.forEach((id, i) => {
      const shard = this.keys.pollShardOf(id);
      const at = byShard.get(shard);
      if (at) at.push(i);
      else byShard.set(shard, [i]);
    });
    const dues: (number | undefined)[] = new Array<number | undefined>(mailboxIds.length).fill(undefined);
    await Promise.all([...byShard].map(async ([shard, at]) => {
      const scores = await this.redis.zmscore(this.keys.pollDue(shard), ...at.map((i) => mailboxIds[i]!));
      scores.forEach((score, j) => (dues[at[j]!] = asDue(score)));
    }));
    return dues;
  }

  /** One shard's mailboxes due more than `graceMs` ago, earliest first, at most `limit`. */
  async overdue(shard: number, graceMs: number, limit: number): Promise<ScheduledPoll[]> {
    return readPolls(await this.redis.zrangebyscore(this.keys.pollDue(shard), '-inf', String(this.now() - graceMs), 'WITHSCORES', 'LIMIT', '0', String(limit)));
  }
}

/** ZRANGE … WITHSCORES as mailbox id and due pairs. */
export function readPolls(flat: readonly string[]): ScheduledPoll[] {
  const polls: ScheduledPoll[] = [];
  for (let i = 0; i < flat.length; i += 2) polls.push({ mailboxId: flat[i]!, due: Number(flat[i + 1]) });
  return polls;
}
