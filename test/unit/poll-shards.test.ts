/**
 * Poll shards: a mailbox's shard is a stable hash, its lock shares its shard's
 * hash tag, and the assignment of shards to live workers is balanced, the same
 * in every process, and moves little when a worker comes or goes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignShards, shardsOf } from '../../src/jobs/polling/shard-assignment.js';
import { createKeySpace } from '../../src/store/keys.js';
import { fnv1a, pollShardOf } from '../../src/store/poll-shards.js';

const hashTag = (key: string): string => /\{([^}]*)\}/.exec(key)?.[1] ?? key;
const mailbox = (n: number): string => `mbx_${n.toString(36).padStart(16, 'a')}`;
const workersArb = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 });

describe('poll shards', () => {
  it('hashes with FNV-1a (known values), so a shard never depends on the process or version', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
    expect(pollShardOf('mbx_aaaaaaaaaaaaaaaa', 16)).toBe(fnv1a('mbx_aaaaaaaaaaaaaaaa') % 16);
  });

  it('spreads mailboxes evenly: 20,000 over 16 shards, each within 10 % of its share', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 20_000; i++) counts[pollShardOf(`mbx_${i.toString(36).padStart(16, '0')}`, 16)]! += 1;
    for (const n of counts) expect(Math.abs(n - 1250)).toBeLessThan(125);
  });

  it("keeps a mailbox's poll lock, due and overdue sets and queue under its shard's one hash tag", () => {
    const keys = createKeySpace('ps', { pollShards: 8 });
    for (let i = 0; i < 50; i++) {
      const id = mailbox(i);
      const shard = keys.pollShardOf(id);
      const tag = hashTag(keys.pollLock(id));
      expect(tag).toBe(`ps:poll:${shard}`);
      expect(hashTag(keys.pollDue(shard))).toBe(tag);
      expect(hashTag(keys.pollOverdueAt(shard))).toBe(tag);
      expect(hashTag(keys.pollQueuePrefix(shard))).toBe(tag);
    }
    expect(() => keys.pollDue(8)).toThrow('out of 0..7');
    expect(() => createKeySpace('ps', { pollShards: 0 })).toThrow('invalid poll shard count');
  });

  it('assigns every shard to exactly one live worker, ⌊N/W⌋ or ⌈N/W⌉ each, whatever the order given', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), workersArb, (shards, workers) => {
      const owned = assignShards(shards, workers);
      const all = [...owned.values()].flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: shards }, (_, i) => i));
      for (const mine of owned.values()) {
        expect(mine.length).toBeGreaterThanOrEqual(Math.floor(shards / workers.length));
        expect(mine.length).toBeLessThanOrEqual(Math.ceil(shards / workers.length));
      }
      expect(assignShards(shards, [...workers].reverse())).toEqual(owned);
    }));
  });

  it('gives one worker every shard, and none when no worker is live', () => {
    expect(shardsOf('w1', [], 16)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(shardsOf('w1', ['w1'], 4)).toEqual([0, 1, 2, 3]);
    expect(assignShards(4, []).size).toBe(0);
  });

  it('splits 16 shards 8 and 8 between two workers, and the survivor of a kill takes all', () => {
    const both = assignShards(16, ['host-a:1', 'host-b:2']);
    expect(both.get('host-a:1')).toHaveLength(8);
    expect(both.get('host-b:2')).toHaveLength(8);
    expect(shardsOf('host-b:2', ['host-b:2'], 16)).toHaveLength(16);
  });

  it('moves few shards when a worker joins: those the newcomer takes, and a few for balance', () => {
    fc.assert(fc.property(workersArb, fc.string({ minLength: 13, maxLength: 14 }), (workers, newcomer) => {
      const shards = 64;
      const before = assignShards(shards, workers);
      const after = assignShards(shards, [...workers, newcomer]);
      const ownerOf = (m: Map<string, number[]>): Map<number, string> => new Map([...m].flatMap(([w, s]) => s.map((x) => [x, w] as const)));
      const a = ownerOf(before);
      const b = ownerOf(after);
      const moved = [...a].filter(([shard, w]) => b.get(shard) !== w).length;
      const taken = after.get(newcomer)!.length;
      // Plain rendezvous hashing would move exactly `taken`; balancing moves some more, never most.
      expect(moved).toBeLessThanOrEqual(taken + Math.ceil(shards / 2));
    }), { numRuns: 50 });
  });
});
