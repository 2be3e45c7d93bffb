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
 *
 * A store may also list its records under terms (`terms`: a mailbox under its
 * state, its connection, both, and its address) for filtered pages: see
 * store/record-pages.ts.
 */
import type { Redis } from '../adapters/redis/redis.js';
import { LuaScript } from './lua-script.js';
import {
  TERMS_VERSION, decodeCursor, encodeCursor, memberPosition, positionOf, termMember, termRange, type Page, type Position, type RecordTerms,
} from './record-pages.js';

// The scripts (store/lua/record-*.lua) keep the record, its index and its extras (group set, unique
// claim, counts hash) in step.
const COMPARE_AND_SET = new LuaScript('record-compare-and-set');
const CREATE = new LuaScript('record-create');
const DELETE = new LuaScript('record-delete');
const BUILD_COUNTS = new LuaScript('record-build-counts');
const INDEX_TERMS = new LuaScript('record-index-terms');
/** Records per read while a page or the terms index is built; a page of 500 is one read. */
const BATCH = 501;

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
  /** An index listing each record under the terms it has, for filtered pages (store/record-pages.ts). */
  terms?: RecordTerms<T>;
}

export interface PageOptions<T> {
  /** Page size. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Only records listed under this term (`terms`); every record when absent. */
  term?: string;
  /** Only records that pass: checked on the records as read, so one that changed since the index was read is judged as it is. */
  where?: (record: T) => boolean;
}

export type CreateResult = 'created' | 'exists' | 'taken';

export class JsonStore<T extends { id: string; createdAt: string }> {
  /** Settles once this process knows every record is in the terms index (built now if need be). */
  private termsReady: Promise<void> | undefined;

  constructor(private readonly options: JsonStoreOptions<T>) {}

  private keysOf(record: T): { keys: string[]; extras: string } {
    const { recordKey, indexKey, groupKey, uniqueKey, countBy, terms } = this.options;
    const keys = [recordKey(record.id), indexKey()];
    if (groupKey) keys.push(groupKey(record));
    if (uniqueKey) keys.push(uniqueKey(record));
    if (countBy) keys.push(countBy.key());
    if (terms) keys.push(terms.key());
    return { keys, extras: `${groupKey ? 'g' : ''}${uniqueKey ? 'u' : ''}${countBy ? 'c' : ''}${terms ? 'x' : ''}` };
  }

  /** The record's members of the terms index (none without `terms`). */
  private membersOf(record: T): string[] {
    const { terms } = this.options;
    return terms ? terms.of(record).map((term) => termMember(term, record)) : [];
  }

  /** The counted field's value (countBy), as the scripts see it. */
  private countedValue(record: T): string {
    return this.options.countBy ? String(record[this.options.countBy.field]) : '';
  }

  async create(record: T): Promise<CreateResult> {
    const { keys, extras } = this.keysOf(record);
    const created = await CREATE.run(this.options.redis, keys, [
      JSON.stringify(record), String(Date.parse(record.createdAt)), record.id, extras, this.countedValue(record), ...this.membersOf(record),
    ]);
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
    const { redis, recordKey, countBy, terms } = this.options;
    const keys = [recordKey(id)];
    if (countBy) keys.push(countBy.key());
    if (terms) keys.push(terms.key());
    const extras = `${countBy ? 'c' : ''}${terms ? 'x' : ''}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await redis.get(recordKey(id));
      if (raw === null) return undefined;
      const current = JSON.parse(raw) as T;
      const next = change(current);
      const before = this.membersOf(current);
      const after = this.membersOf(next);
      const removed = before.filter((m) => !after.includes(m));
      const added = after.filter((m) => !before.includes(m));
      const ok = await COMPARE_AND_SET.run(redis, keys, [
        raw, JSON.stringify(next), extras, this.countedValue(current), this.countedValue(next), String(removed.length), ...removed, ...added,
      ]);
      if (ok === 1) return next;
    }
    throw new ConcurrentUpdateError();
  }

  async delete(id: string): Promise<boolean> {
    const { redis, recordKey, countBy } = this.options;
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await redis.get(recordKey(id));
      if (raw === null) return false;
      const record = JSON.parse(raw) as T;
      const { keys, extras } = this.keysOf(record);
      const deleted = await DELETE.run(redis, keys, [id, extras, countBy?.field ?? '', raw, ...this.membersOf(record)]);
      if (deleted !== -1) return deleted === 1;
    }
    throw new ConcurrentUpdateError();
  }

  /**
   * A page of records in creation order (store/record-pages.ts), read from the index, or from
   * the terms index for one term; 'invalid_cursor' when the cursor is not one a page gave out.
   * Records that `where` refuses are passed over, reading on until the page is full.
   */
  async page(options: PageOptions<T>): Promise<Page<T> | 'invalid_cursor'> {
    const { limit, term, where } = options;
    let after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    if (options.cursor !== undefined && !after) return 'invalid_cursor';
    if (term !== undefined) await this.ensureTerms();
    const found: T[] = [];
    // The first read asks for one more than the page (is there a next page?); later ones, when `where` passed records over, for more.
    for (let batch = limit + 1; found.length <= limit; batch = BATCH) {
      const ids = await this.idsAfter(term, after, batch);
      if (ids.length === 0) break;
      const raws = await this.options.redis.mget(ids.map(({ id }) => this.options.recordKey(id)));
      for (const raw of raws) {
        if (raw === null) continue; // deleted since the index was read
        const record = JSON.parse(raw) as T;
        if (!where || where(record)) found.push(record);
      }
      after = ids[ids.length - 1];
      if (ids.length < batch) break;
    }
    const records = found.slice(0, limit);
    const last = records[records.length - 1];
    return { records, nextCursor: found.length > limit && last ? encodeCursor(positionOf(last)) : null };
  }

  /** Up to `count` ids after a position, in order: from the terms index for a term, from the index otherwise. */
  private async idsAfter(term: string | undefined, after: Position | undefined, count: number): Promise<Position[]> {
    const { redis, indexKey, terms } = this.options;
    if (term !== undefined) {
      if (!terms) throw new Error('this store lists no terms (no terms option)');
      const [min, max] = termRange(term, after);
      return (await redis.zrangebylex(terms.key(), min, max, 'LIMIT', 0, count)).map(memberPosition);
    }
    // The index scores by creation time (ms); ids of the same millisecond sort by id, as the cursor does.
    const ties = after ? (await redis.zrangebyscore(indexKey(), after.ms, after.ms)).filter((id) => id > after.id) : [];
    const tied = ties.slice(0, count).map((id) => ({ ms: after!.ms, id }));
    if (tied.length === count) return tied;
    const raw = await redis.zrangebyscore(indexKey(), after ? `(${after.ms}` : '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, count - tied.length);
    const rest: Position[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) rest.push({ id: raw[i]!, ms: Number(raw[i + 1]) });
    return [...tied, ...rest];
  }

  private ensureTerms(): Promise<void> {
    this.termsReady ??= this.buildTerms().catch((err: unknown) => {
      this.termsReady = undefined;
      throw err;
    });
    return this.termsReady;
  }

  /**
   * Adds every record to the terms index unless it is marked complete: once after an upgrade
   * (records written before the index existed), in batches, each record only if it is still
   * what was read (store/lua/record-index-terms.lua). Records written meanwhile are indexed by
   * the scripts that write them, so the walk may miss them.
   */
  private async buildTerms(): Promise<void> {
    const { redis, recordKey, terms } = this.options;
    if (!terms) throw new Error('this store lists no terms (no terms option)');
    if ((await redis.get(terms.builtKey())) === TERMS_VERSION) return;
    for (let after: Position | undefined; ;) {
      const ids = await this.idsAfter(undefined, after, BATCH);
      if (ids.length === 0) break;
      const raws = await redis.mget(ids.map(({ id }) => recordKey(id)));
      const keys = [terms.key()];
      const args: string[] = [];
      raws.forEach((raw, i) => {
        if (raw === null) return;
        const members = this.membersOf(JSON.parse(raw) as T);
        keys.push(recordKey(ids[i]!.id));
        args.push(raw, String(members.length), ...members);
      });
      if (keys.length > 1) await INDEX_TERMS.run(redis, keys, args);
      after = ids[ids.length - 1];
      if (ids.length < BATCH) break;
    }
    await redis.set(terms.builtKey(), TERMS_VERSION);
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
