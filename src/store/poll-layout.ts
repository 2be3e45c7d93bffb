/**
 * The poll schedule's layout in Redis, for jobs/polling/shard-migration.ts:
 * which shard count it is laid out for (`pollLayout`, absent before shards),
 * and the reads and removals that move entries out of an old layout's sets
 * (the unsharded ones of older versions, or another shard count's).
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { KeySpace } from './keys.js';
import { readPolls, type ScheduledPoll } from './poll-schedule.js';

/** One old schedule set and the overdue index beside it. */
export interface OldScheduleSets {
  due: string;
  overdueAt: string;
}

export class PollLayoutStore {
  constructor(private readonly redis: Redis, private readonly keys: KeySpace) {}

  /** The shard count the schedule is laid out for; undefined before shards (or never recorded). */
  async stored(): Promise<number | undefined> {
    const raw = await this.redis.get(this.keys.pollLayout());
    const shards = raw === null ? Number.NaN : Number(raw);
    return Number.isSafeInteger(shards) && shards > 0 ? shards : undefined;
  }

  async record(shards: number): Promise<void> {
    await this.redis.set(this.keys.pollLayout(), String(shards));
  }

  /** Every entry of an old set (mailbox id and due). */
  async entries(sets: OldScheduleSets): Promise<ScheduledPoll[]> {
    return readPolls(await this.redis.zrange(sets.due, '0', '-1', 'WITHSCORES'));
  }

  /** The interval the old overdue index knew for a mailbox (overdue-at − due), if it had it. */
  async intervalOf(sets: OldScheduleSets, entry: ScheduledPoll): Promise<number | undefined> {
    const overdueAt = await this.redis.zscore(sets.overdueAt, entry.mailboxId);
    return overdueAt === null ? undefined : Number(overdueAt) - entry.due;
  }

  /** Takes a mailbox out of an old set and its index. */
  async remove(sets: OldScheduleSets, mailboxId: string): Promise<void> {
    await this.redis.zrem(sets.due, mailboxId);
    await this.redis.zrem(sets.overdueAt, mailboxId);
  }

  /** Deletes the unsharded sets of older versions (once emptied). */
  async dropLegacy(): Promise<void> {
    await this.redis.del(this.keys.legacyPoll.due(), this.keys.legacyPoll.overdueAt());
  }
}
