/**
 * The ioredis adapter: the only module that creates Redis connections.
 *
 * Two kinds: `command` connections for the API and stores fail a command
 * quickly when Redis is down (so a request gets a 503 rather than hanging);
 * `queue` connections for BullMQ retry forever, as BullMQ requires
 * (`maxRetriesPerRequest: null`).
 */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis } from 'ioredis';

export type RedisKind = 'command' | 'queue';

export function redisOptions(kind: RedisKind, name: string): RedisOptions {
  const common: RedisOptions = {
    connectionName: `mailsync:${name}`,
    connectTimeout: 5_000,
    // Reconnect quickly at first, then every 2 s at most.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    lazyConnect: true,
  };
  return kind === 'queue'
    ? { ...common, maxRetriesPerRequest: null, enableReadyCheck: false }
    : { ...common, maxRetriesPerRequest: 1, commandTimeout: 5_000 };
}

export function createRedis(url: string, kind: RedisKind, name: string): Redis {
  return new Redis(url, redisOptions(kind, name));
}

/** Closes a connection politely, or drops it when Redis does not answer. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([
      redis.quit(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('quit timed out')), 1_000).unref()),
    ]);
  } catch {
    redis.disconnect();
  }
}
