/**
 * Every key matching a pattern and everything stored under it, as raw bytes:
 * strings, every hash field and value, list, set and sorted-set member (with
 * its score), every stream entry's fields and values. Bytes, not text, so a
 * binary secret (an HMAC key) shows up as it is stored, and nothing is lost
 * to UTF-8 decoding. BullMQ jobs are hashes (`data`, `opts`, `returnvalue`, …)
 * and their events streams, so job payloads are included.
 */
import { Cluster } from 'ioredis';
import type { Redis } from '../../src/adapters/redis/redis.js';

export interface RawEntry {
  key: string;
  type: string;
  /** The key's name and every value under it, concatenated with NUL separators. */
  bytes: Buffer;
}

async function valuesOf(redis: Redis, key: string, type: string): Promise<Buffer[]> {
  switch (type) {
    case 'string':
      return [(await redis.getBuffer(key)) ?? Buffer.alloc(0)];
    case 'hash':
      return Object.entries(await redis.hgetallBuffer(key)).flatMap(([field, value]) => [Buffer.from(field), value]);
    case 'list':
      return redis.lrangeBuffer(key, 0, -1);
    case 'set':
      return redis.smembersBuffer(key);
    case 'zset':
      return redis.zrangeBuffer(key, '0', '-1', 'WITHSCORES');
    case 'stream':
      return (await redis.xrangeBuffer(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
    default:
      return [Buffer.from(`(${type})`)];
  }
}

/** SCAN covers one server: on a Redis Cluster, every master is scanned. */
export async function readRedisRaw(redis: Redis, match = '*'): Promise<RawEntry[]> {
  const out: RawEntry[] = [];
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const values = await valuesOf(redis, key, type);
        out.push({ key, type, bytes: Buffer.concat([Buffer.from(key), ...values.flatMap((v) => [Buffer.from([0]), v])]) });
      }
    } while (cursor !== '0');
  }
  return out;
}
