/**
 * Records kept as JSON strings under one key each, with an index (a sorted
 * set by creation time) for listing. Updates are compare-and-set in a Lua
 * script, so two concurrent PATCHes cannot silently overwrite each other.
 */
import type { Redis } from '../adapters/redis/redis.js';

const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1`;

const DELETE = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`;

export class ConcurrentUpdateError extends Error {
  constructor() {
    super('record changed during update');
    this.name = 'ConcurrentUpdateError';
  }
}

export interface JsonStoreOptions {
  redis: Redis;
  recordKey: (id: string) => string;
  indexKey: () => string;
}

export class JsonStore<T extends { id: string; createdAt: string }> {
  constructor(private readonly options: JsonStoreOptions) {}

  async create(record: T): Promise<boolean> {
    const { redis, recordKey, indexKey } = this.options;
    const created = await redis.eval(
      CREATE, 2, recordKey(record.id), indexKey(),
      JSON.stringify(record), String(Date.parse(record.createdAt)), record.id,
    );
    return created === 1;
  }

  async get(id: string): Promise<T | undefined> {
    const raw = await this.options.redis.get(this.options.recordKey(id));
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  async list(limit = 1000): Promise<T[]> {
    const { redis, recordKey, indexKey } = this.options;
    const ids = await redis.zrange(indexKey(), '0', String(limit - 1));
    if (ids.length === 0) return [];
    const raws = await redis.mget(ids.map(recordKey));
    return raws.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as T);
  }

  /** Applies `change` to the current record; retries a few times when another writer got there first. */
  async update(id: string, change: (current: T) => T): Promise<T | undefined> {
    const { redis, recordKey } = this.options;
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await redis.get(recordKey(id));
      if (raw === null) return undefined;
      const next = change(JSON.parse(raw) as T);
      const ok = await redis.eval(COMPARE_AND_SET, 1, recordKey(id), raw, JSON.stringify(next));
      if (ok === 1) return next;
    }
    throw new ConcurrentUpdateError();
  }

  async delete(id: string): Promise<boolean> {
    const { redis, recordKey, indexKey } = this.options;
    return (await redis.eval(DELETE, 2, recordKey(id), indexKey(), id)) === 1;
  }
}
