/** Every key in a Redis and its value as text, whatever its type: for tests that look for what must not be stored. */
import type { Redis } from '../../src/adapters/redis/redis.js';

export async function dumpRedis(redis: Redis, match = '*'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      else value = `(${type})`;
      out.set(key, JSON.stringify(value));
    }
  } while (cursor !== '0');
  return out;
}
