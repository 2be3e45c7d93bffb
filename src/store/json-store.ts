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
import { LuaScript } from './lua-script.js';

// The scripts (store/lua/record-*.lua) keep the record, its index and its extras (group set, unique
// claim, counts hash) in step.
const COMPARE_AND_SET = new LuaScript('record-compare-and-set');
const CREATE = new LuaScript('record-create');
const DELETE = new LuaScript('record-delete');
const BUILD_COUNTS = new LuaScript('record-build-counts');

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
      CREATE.source, keys.length, ...keys, JSON.stringify(record), String(Date.parse(record.createdAt)), record.id, extras, this.countedValue(record),
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
        ? await redis.eval(COMPARE_AND_SET.source, 2, recordKey(id), countBy.key(), raw, JSON.stringify(next), this.countedValue(current), this.countedValue(next))
        : await redis.eval(COMPARE_AND_SET.source, 1, recordKey(id), raw, JSON.stringify(next));
      if (ok === 1) return next;
    }
    throw new ConcurrentUpdateError();
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.get(id);
    if (!record) return false;
    const { keys, extras } = this.keysOf(record);
    return (await this.options.redis.eval(DELETE.source, keys.length, ...keys, id, extras, this.options.countBy?.field ?? '')) === 1;
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
      if ((await redis.eval(BUILD_COUNTS.source, keys.length, [...keys, countBy.field, ...ids])) === 1) return;
    }
  }

  /** Ids in a group set (e.g. a connection's mailboxes). */
  async groupMembers(groupKey: string): Promise<string[]> {
    return this.options.redis.smembers(groupKey);
  }
}
