/**
 * Which live worker owns which poll shard: a pure function of the shard
 * count and the set of live worker ids, so every worker, reading the same
 * heartbeats, computes the same answer without talking to the others.
 *
 * Balanced rendezvous hashing: each shard ranks the workers by a hash of
 * (worker, shard) and goes to the first in its ranking that still has room,
 * where room is ⌊N/W⌋ shards, and ⌈N/W⌉ for the first N mod W workers to
 * reach it. So every worker owns ⌊N/W⌋ or ⌈N/W⌉ shards (plain rendezvous
 * hashing leaves 16 shards over 2 workers as unequal as 11 and 5), and a
 * worker joining or leaving moves few shards besides its own share.
 */
import { createHash } from 'node:crypto';
import { allShards } from '../../store/poll-shards.js';

/** The rank of `worker` for `shard`: higher goes first. */
function score(worker: string, shard: number): number {
  return createHash('sha1').update(`${shard}\0${worker}`).digest().readUInt32BE(0);
}

/** Every live worker → the shards it owns (sorted). No workers: no owners. */
export function assignShards(shards: number, workers: Iterable<string>): Map<string, number[]> {
  const members = [...new Set(workers)].sort();
  const owned = new Map<string, number[]>(members.map((w) => [w, []]));
  if (members.length === 0) return owned;
  const floor = Math.floor(shards / members.length);
  let extras = shards % members.length;
  for (const shard of allShards(shards)) {
    const ranking = members
      .map((worker) => ({ worker, score: score(worker, shard) }))
      .sort((a, b) => b.score - a.score || (a.worker < b.worker ? -1 : 1));
    for (const { worker } of ranking) {
      const mine = owned.get(worker)!;
      if (mine.length < floor) {
        mine.push(shard);
        break;
      }
      if (mine.length === floor && extras > 0) {
        extras -= 1;
        mine.push(shard);
        break;
      }
    }
  }
  return owned;
}

/** The shards `self` owns among `live` workers; `self` counts as live (its own beat may not have landed yet). */
export function shardsOf(self: string, live: Iterable<string>, shards: number): number[] {
  return assignShards(shards, [...live, self]).get(self) ?? [];
}
