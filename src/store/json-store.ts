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

// KEYS: record, index, then the group set and/or the unique claim as ARGV[4] says
// ('g', 'u' or 'gu'); ARGV: json, score, id, extras
const CREATE = `
local g = string.find(ARGV[4], 'g') and 3 or nil
local u = string.find(ARGV[4], 'u') and (g and 4 or 3) or nil
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if u and redis.call('EXISTS', KEYS[u]) == 1 then return -1 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if g then redis.call('SADD', KEYS[g], ARGV[3]) end
if u then redis.call('SET', KEYS[u], ARGV[3]) end
return 1`;

// KEYS as for CREATE; ARGV: id, extras
const DELETE = `
local g = string.find(ARGV[2], 'g') and 3 or nil
local u = string.find(ARGV[2], 'u') and (g and 4 or 3) or nil
redis.call('ZREM', KEYS[2], ARGV[1])
if g then redis.call('SREM', KEYS[g], ARGV[1]) end
if u and redis.call('GET', KEYS[u]) == ARGV[1] then redis.call('DEL', KEYS[u]) end
return redis.call('DEL', KEYS[1])`;

export class ConcurrentUpdateError extends Error {
  constructor() {
    super('record changed during update');
    this.name = 'ConcurrentUpdateError';
  }
}

export interface JsonStoreOptions<T> {
  redis: Redis;
  recordKey: (id: string) => string;
  indexKey: () => string;
  /** A set that also lists the record (e.g. a connection's mailboxes). */
  groupKey?: (record: T) => string;
  /** A key that at most one record may claim (e.g. an address per connection). */
  uniqueKey?: (record: T) => string;
}

export type CreateResult = 'created' | 'exists' | 'taken';

export class JsonStore<T extends { id: string; createdAt: string }> {
  constructor(private readonly options: JsonStoreOptions<T>) {}

  private keysOf(record: T): { keys: string[]; extras: string } {
    const { recordKey, indexKey, groupKey, uniqueKey } = this.options;
    const keys = [recordKey(record.id), indexKey()];
    if (groupKey) keys.push(groupKey(record));
    if (uniqueKey) keys.push(uniqueKey(record));
    return { keys, extras: `${groupKey ? 'g' : ''}${uniqueKey ? 'u' : ''}` };
  }

  async create(record: T): Promise<CreateResult> {
    const { keys, extras } = this.keysOf(record);
    const created = await this.options.redis.eval(
      CREATE, keys.length, ...keys, JSON.stringify(record), String(Date.parse(record.createdAt)), record.id, extras,
    );
    return created === 1 ? 'created' : created === -1 ? 'taken' : 'exists';
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
    const record = await this.get(id);
    if (!record) return false;
    const { keys, extras } = this.keysOf(record);
    return (await this.options.redis.eval(DELETE, keys.length, ...keys, id, extras)) === 1;
  }

  /** Ids in a group set (e.g. a connection's mailboxes). */
  async groupMembers(groupKey: string): Promise<string[]> {
    return this.options.redis.smembers(groupKey);
  }
}
