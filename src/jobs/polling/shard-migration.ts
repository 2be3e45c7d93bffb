/**
 * Moves the poll schedule to the shard layout this process runs with
 * (POLL_SHARDS), so an upgrade from the unsharded schedule, or a change of
 * shard count, loses no mailbox.
 *
 * Redis records the layout it holds (`pollLayout`: the shard count; absent
 * before sharding). The sweeper of every worker calls run() first: one GET
 * when the layout is this process's. Otherwise one process (a lock) moves
 * every entry that is not where this layout puts it: the unsharded `pollDue`
 * of older versions, and the entries of the previous layout's shards whose
 * shard changed. Each keeps its due time and gets a trigger in its new
 * shard's queue; an entry the new shard already has (scheduled meanwhile by
 * a process of this layout) is newer and stays. Then the queues nobody reads
 * any more (the unsharded `poll` queue, shards past the new count) are
 * emptied, the unsharded keys deleted and the layout recorded.
 *
 * A trigger left in a shard queue that is still read (its mailbox moved to
 * another shard of the same count) finds its due in the new shard and polls,
 * or finds it moved on and does nothing; the poll lock keeps it single.
 * Processes of one deployment must share POLL_SHARDS: one with another count
 * schedules into the shards it computes, and the next run of this moves them back.
 */
import type { Queue } from '../../adapters/queue/bullmq.js';
import type { Redis } from '../../adapters/redis/redis.js';
import { isId } from '../../domain/ids.js';
import type { Logger } from '../../logging/logger.js';
import { createKeySpace, type KeySpace } from '../../store/keys.js';
import { RedisLock } from '../../store/lock.js';
import { readPolls } from '../../store/poll-schedule.js';
import { allShards } from '../../store/poll-shards.js';
import type { PollScheduler } from './scheduler.js';

/** How long the migration may hold its lock (ms): far more than moving 100,000 entries takes. */
const LOCK_TTL_MS = 120_000;

export interface ShardMigrationDeps {
  redis: Redis;
  keys: KeySpace;
  scheduler: Pick<PollScheduler, 'schedule' | 'dueOf'>;
  /** A poll queue under a given prefix (the unsharded one, or an old shard's), to empty it. */
  queueAt: (prefix: string) => Queue;
  logger: Logger;
}

export class PollShardMigration {
  private readonly locks: RedisLock;

  constructor(private readonly deps: ShardMigrationDeps) {
    this.locks = new RedisLock(deps.redis);
  }

  /** Moves the schedule to this layout when Redis holds another; answers how many entries moved (0 when none had to). */
  async run(): Promise<number> {
    const { redis, keys } = this.deps;
    const stored = await redis.get(keys.pollLayout());
    if (stored === String(keys.pollShards)) return 0;
    const lease = await this.locks.acquire(keys.pollLayoutLock(), LOCK_TTL_MS);
    if (!lease) return 0;
    try {
      const previous = stored === null ? undefined : Number(stored);
      let moved = await this.moveFrom(keys.legacyPoll.due(), keys.legacyPoll.overdueAt(), () => true);
      await this.deps.queueAt(keys.queuePrefix).obliterate({ force: true });
      await redis.del(keys.legacyPoll.due(), keys.legacyPoll.overdueAt());
      if (previous !== undefined && Number.isSafeInteger(previous) && previous > 0) {
        const old = createKeySpace(keys.prefix, { pollShards: previous });
        for (const shard of allShards(previous)) {
          moved += await this.moveFrom(old.pollDue(shard), old.pollOverdueAt(shard), (id) => shard >= keys.pollShards || keys.pollShardOf(id) !== shard);
          if (shard >= keys.pollShards) await this.deps.queueAt(old.pollQueuePrefix(shard)).obliterate({ force: true });
        }
      }
      await redis.set(keys.pollLayout(), String(keys.pollShards));
      this.deps.logger.info({ from: previous ?? 'unsharded', to: keys.pollShards, moved }, 'poll schedule moved to its shards');
      return moved;
    } finally {
      await this.locks.release(lease).catch(() => false);
    }
  }

  /** Moves the entries of one old schedule set that `moves` picks; answers how many. */
  private async moveFrom(dueKey: string, overdueKey: string, moves: (mailboxId: string) => boolean): Promise<number> {
    const { redis, scheduler } = this.deps;
    let moved = 0;
    for (const { mailboxId, due } of readPolls(await redis.zrange(dueKey, '0', '-1', 'WITHSCORES'))) {
      if (!moves(mailboxId)) continue;
      if (!isId(mailboxId, 'mbx')) {
        // Not a mailbox id (no key may be made of it): dropped, as its poll could never run.
        await redis.zrem(dueKey, mailboxId);
        continue;
      }
      const overdueAt = await redis.zscore(overdueKey, mailboxId);
      // The interval the old index knew; without it, the record's (schedule reads it).
      const intervalMs = overdueAt === null ? undefined : Number(overdueAt) - due;
      if ((await scheduler.dueOf(mailboxId)) === undefined) await scheduler.schedule(mailboxId, due, intervalMs);
      await redis.zrem(dueKey, mailboxId);
      await redis.zrem(overdueKey, mailboxId);
      moved += 1;
    }
    return moved;
  }
}
