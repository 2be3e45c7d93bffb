/**
 * Poll shards: the poll schedule, its BullMQ queue and the poll locks are cut
 * into N shards by a stable hash of the mailbox id, each shard under its own
 * Redis Cluster hash tag (store/keys.ts), so a cluster spreads poll traffic
 * over its masters and a worker can take a subset of the shards
 * (jobs/polling/shard-assignment.ts).
 *
 * The hash is FNV-1a (32 bit) of the id's characters: fast, the same in every
 * process and version, and even over our random ids. Changing N moves
 * mailboxes between shards; jobs/polling/shard-migration.ts moves their
 * schedule entries on the next sweep, so nothing is lost.
 */

export { DEFAULT_POLL_SHARDS, MAX_POLL_SHARDS } from '../config/poll-shards.js';

/** FNV-1a, 32 bit, of a string's UTF-16 code units (ids are ASCII). */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard (0 … shards − 1) of a mailbox. */
export function pollShardOf(mailboxId: string, shards: number): number {
  return fnv1a(mailboxId) % shards;
}

/** Every shard number, 0 … shards − 1. */
export function allShards(shards: number): number[] {
  return Array.from({ length: shards }, (_, i) => i);
}
