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
import { PollLayoutStore, type OldScheduleSets } from '../../store/poll-layout.js';
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
  private readonly layout: PollLayoutStore;

  constructor(private readonly deps: ShardMigrationDeps) {
    this.locks = new RedisLock(deps.redis);
    this.layout = new PollLayoutStore(deps.redis, deps.keys);
  }

  /** Moves the schedule to this layout when Redis holds another; answers how many entries moved (0 when none had to). */
  async run(): Promise<number> {
    const { keys } = this.deps;
    const previous = await this.layout.stored();
    if (previous === keys.pollShards) return 0;
    const lease = await this.locks.acquire(keys.pollLayoutLock(), LOCK_TTL_MS);
    if (!lease) return 0;
    try {
      let moved = await this.moveFrom({ due: keys.legacyPoll.due(), overdueAt: keys.legacyPoll.overdueAt() }, () => true);
      await this.deps.queueAt(keys.queuePrefix).obliterate({ force: true });
      await this.layout.dropLegacy();
      if (previous !== undefined) {
        const old = createKeySpace(keys.prefix, { pollShards: previous });
        for (const shard of allShards(previous)) {
          const sets = { due: old.pollDue(shard), overdueAt: old.pollOverdueAt(shard) };
          moved += await this.moveFrom(sets, (id) => shard >= keys.pollShards || keys.pollShardOf(id) !== shard);
          if (shard >= keys.pollShards) await this.deps.queueAt(old.pollQueuePrefix(shard)).obliterate({ force: true });
        }
      }
      await this.layout.record(keys.pollShards);
      this.deps.logger.info({ from: previous ?? 'unsharded', to: keys.pollShards, moved }, 'poll schedule moved to its shards');
      return moved;
    } finally {
      await this.locks.release(lease).catch(() => false);
    }
  }

  /** Moves the entries of one old schedule set that `moves` picks; answers how many. */
  private async moveFrom(sets: OldScheduleSets, moves: (mailboxId: string) => boolean): Promise<number> {
    const { scheduler } = this.deps;
    let moved = 0;
    for (const entry of await this.layout.entries(sets)) {
      const { mailboxId, due } = entry;
      if (!moves(mailboxId)) continue;
      if (!isId(mailboxId, 'mbx')) {
        // Not a mailbox id (no key may be made of it): dropped, as its poll could never run.
        await this.layout.remove(sets, mailboxId);
        continue;
      }
      // The interval the old index knew; without it, the record's (schedule reads it).
      const intervalMs = await this.layout.intervalOf(sets, entry);
      if ((await scheduler.dueOf(mailboxId)) === undefined) await scheduler.schedule(mailboxId, due, intervalMs);
      await this.layout.remove(sets, mailboxId);
      moved += 1;
    }
    return moved;
  }
}
