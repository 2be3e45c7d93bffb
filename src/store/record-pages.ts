/**
 * Pages of JSON records (store/json-store.ts) in one stable order: creation
 * time, then id. A cursor is the position of the last record of a page,
 * `<created ms>.<id>` in base64url, so records added or removed meanwhile do
 * not shift the pages: a walk sees each record that lives through it once.
 * The same cursor works with or without a filter: it names a place in the
 * order, not in one index.
 *
 * Filters read the terms index, one sorted set with every score 0 whose
 * members are `<term>\0<created ms, 15 digits>\0<id>`: the members of one
 * term sort by creation time and id, so ZRANGEBYLEX from the cursor's member
 * to the end of the term is the next page. A record is listed under each term
 * `of(record)` gives (a mailbox: its state, its connection, both, its
 * address); the record scripts keep the index in step with every write.
 */

export interface RecordTerms<T> {
  /** The sorted set of `<term>\0<created ms>\0<id>` members. */
  key: () => string;
  /**
   * Holds TERMS_VERSION once every record is in the index: records written before the index
   * existed are added on the first filtered read after an upgrade (JsonStore.page).
   */
  builtKey: () => string;
  /** The terms a record is listed under; none may contain a NUL character. */
  of: (record: T) => string[];
}

export const TERMS_VERSION = '1';

export interface Page<T> {
  records: T[];
  /** The cursor of the next page; null when this one is the last. */
  nextCursor: string | null;
}

export interface Position {
  ms: number;
  id: string;
}

const SEP = '\0';
const CURSOR = /^(\d{1,15})\.([a-z]{3}_[A-Za-z0-9_-]{16})$/;

/** Fixed width, so that the members of one term sort by creation time as text. */
const padded = (ms: number): string => String(ms).padStart(15, '0');

export function positionOf(record: { id: string; createdAt: string }): Position {
  return { ms: Date.parse(record.createdAt), id: record.id };
}

/** The record's member of the terms index under one term. */
export function termMember(term: string, record: { id: string; createdAt: string }): string {
  if (term.includes(SEP)) throw new Error('a term may not contain a NUL character');
  return `${term}${SEP}${padded(Date.parse(record.createdAt))}${SEP}${record.id}`;
}

/** The ZRANGEBYLEX bounds of one term's members after a position (from the start without one). */
export function termRange(term: string, after: Position | undefined): [min: string, max: string] {
  const min = after ? `(${term}${SEP}${padded(after.ms)}${SEP}${after.id}` : `[${term}${SEP}`;
  return [min, `(${term}\u0001`];
}

/** The position a member of the terms index stands for. */
export function memberPosition(member: string): Position {
  const idAt = member.lastIndexOf(SEP);
  const msAt = member.lastIndexOf(SEP, idAt - 1);
  return { ms: Number(member.slice(msAt + 1, idAt)), id: member.slice(idAt + 1) };
}

export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.ms}.${position.id}`, 'utf8').toString('base64url');
}

/** The position a cursor names; undefined when it is not one encodeCursor made. */
export function decodeCursor(cursor: string): Position | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const ms = Number(match[1]);
  return Number.isSafeInteger(ms) ? { ms, id: match[2]! } : undefined;
}
