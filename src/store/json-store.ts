/**
 * Records kept as JSON strings under one key each, with an index (a sorted
 * set by creation time) for listing. Updates are compare-and-set in a Lua
 * script, so two concurrent PATCHes cannot silently overwrite each other.
 *
 * A store may count its records by one field (`countBy`: mailboxes by
 * state) in a hash that the same scripts keep in step, so a summary needs no
 * walk over the records. The hash is exact or absent: the scripts touch it
 * only while it exists, and `counts()` builds it in one script when it is
 * absent (once, after an upgrade).
 */
import type { Redis } from '../adapters/redis/redis.js';

// KEYS: record, and the counts hash when counted; ARGV: old json, new json, then the counted
// field's old and new values when counted.
const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  if KEYS[2] and ARGV[3] ~= ARGV[4] and redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[3], -1)
    redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
  end
  return 1
end
return 0`;

// Where the optional keys are: after record and index, the group set, the unique claim and the
// counts hash, each present when extras names it ('g', 'u', 'c').
const EXTRA_KEYS = (extras: string): string => `
local g, u, c
local n = 3
if string.find(${extras}, 'g') then g = n; n = n + 1 end
if string.find(${extras}, 'u') then u = n; n = n + 1 end
if string.find(${extras}, 'c') then c = n end`;

// KEYS: record, index, then the extras; ARGV: json, score, id, extras, the counted field's value
const CREATE = `${EXTRA_KEYS('ARGV[4]')}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if u and redis.call('EXISTS', KEYS[u]) == 1 then return -1 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if g then redis.call('SADD', KEYS[g], ARGV[3]) end
if u then redis.call('SET', KEYS[u], ARGV[3]) end
if c and redis.call('EXISTS', KEYS[c]) == 1 then redis.call('HINCRBY', KEYS[c], ARGV[5], 1) end
return 1`;

// KEYS as for CREATE; ARGV: id, extras, the counted field's name. The count goes by the record as
// it is when deleted, whatever the caller read before.
const DELETE = `${EXTRA_KEYS('ARGV[2]')}
if c and redis.call('EXISTS', KEYS[c]) == 1 then
  local raw = redis.call('GET', KEYS[1])
  if raw then redis.call('HINCRBY', KEYS[c], tostring(cjson.decode(raw)[ARGV[3]]), -1) end
end
redis.call('ZREM', KEYS[2], ARGV[1])
if g then redis.call('SREM', KEYS[g], ARGV[1]) end
if u and redis.call('GET', KEYS[u]) == ARGV[1] then redis.call('DEL', KEYS[u]) end
return redis.call('DEL', KEYS[1])`;

// KEYS: counts hash, index, then the record of each id in ARGV; ARGV: the counted field's name,
// then every id in the index as the caller read it. Counts the records when the hash is absent and
// the index still lists exactly those ids: 1 when the hash is there (or nothing to count), 0 when
// the index changed meanwhile.
const BUILD_COUNTS = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local n = #ARGV - 1
if redis.call('ZCARD', KEYS[2]) ~= n then return 0 end
for i = 1, n do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i + 1]) then return 0 end
end
for i = 1, n do
  local raw = redis.call('GET', KEYS[i + 2])
  if raw then redis.call('HINCRBY', KEYS[1], tostring(cjson.decode(raw)[ARGV[1]]), 1) end
end
return 1`;

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
  /** A hash counting the records by the value of one string field (e.g. mailboxes by state). */
  countBy?: { key: () => string; field: keyof T & string };
}

export type CreateResult = 'created' | 'exists' | 'taken';

export class JsonStore<T extends { id: string; createdAt: string }> {
  constructor(private readonly options: JsonStoreOptions<T>) {}

  private keysOf(record: T): { keys: string[]; extras: string } {
    const { recordKey, indexKey, groupKey, uniqueKey, countBy } = this.options;
    const keys = [recordKey(record.id), indexKey()];
    if (groupKey) keys.push(groupKey(record));
    if (uniqueKey) keys.push(uniqueKey(record));
    if (countBy) keys.push(countBy.key());
    return { keys, extras: `${groupKey ? 'g' : ''}${uniqueKey ? 'u' : ''}${countBy ? 'c' : ''}` };
  }

  /** The counted field's value (countBy), as the scripts see it. */
  private countedValue(record: T): string {
    return this.options.countBy ? String(record[this.options.countBy.field]) : '';
  }

  async create(record: T): Promise<CreateResult> {
    const { keys, extras } = this.keysOf(record);
    const created = await this.options.redis.eval(
      CREATE, keys.length, ...keys, JSON.stringify(record), String(Date.parse(record.createdAt)), record.id, extras, this.countedValue(record),
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
    const { redis, recordKey, countBy } = this.options;
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await redis.get(recordKey(id));
      if (raw === null) return undefined;
      const current = JSON.parse(raw) as T;
      const next = change(current);
      const ok = countBy
        ? await redis.eval(COMPARE_AND_SET, 2, recordKey(id), countBy.key(), raw, JSON.stringify(next), this.countedValue(current), this.countedValue(next))
        : await redis.eval(COMPARE_AND_SET, 1, recordKey(id), raw, JSON.stringify(next));
      if (ok === 1) return next;
    }
    throw new ConcurrentUpdateError();
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.get(id);
    if (!record) return false;
    const { keys, extras } = this.keysOf(record);
    return (await this.options.redis.eval(DELETE, keys.length, ...keys, id, extras, this.options.countBy?.field ?? '')) === 1;
  }

  /** How many records the index lists. */
  async count(): Promise<number> {
    return this.options.redis.zcard(this.options.indexKey());
  }

  /** The records by the counted field's value (countBy), values with none left out. */
  async counts(): Promise<Record<string, number>> {
    const { redis, countBy } = this.options;
    if (!countBy) throw new Error('this store counts nothing (no countBy)');
    await this.buildCounts(countBy);
    const counts: Record<string, number> = {};
    for (const [value, n] of Object.entries(await redis.hgetall(countBy.key()))) {
      if (Number(n) > 0) counts[value] = Number(n);
    }
    return counts;
  }

  /**
   * The counts hash, made from the records when it is absent: a read of every record, in one
   * script so no write slips between the count and the hash (once after an upgrade, or while
   * the store is empty, when it costs nothing). An index that changes meanwhile is read again.
   */
  private async buildCounts(countBy: NonNullable<JsonStoreOptions<T>['countBy']>): Promise<void> {
    const { redis, recordKey, indexKey } = this.options;
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await redis.exists(countBy.key())) === 1) return;
      const ids = await redis.zrange(indexKey(), '0', '-1');
      if (ids.length === 0) return;
      const keys = [countBy.key(), indexKey(), ...ids.map(recordKey)];
      // One array, not spread arguments: a call with a hundred thousand arguments overflows the stack.
      if ((await redis.eval(BUILD_COUNTS, keys.length, [...keys, countBy.field, ...ids])) === 1) return;
    }
  }

  /** Ids in a group set (e.g. a connection's mailboxes). */
  async groupMembers(groupKey: string): Promise<string[]> {
    return this.options.redis.smembers(groupKey);
  }
}
