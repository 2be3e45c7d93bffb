/**
 * The message list's query past its schema: the search it asks for, and where
 * its page starts.
 *
 * Paging: `beforeUid` (the first contract, kept for the clients that use it)
 * or the opaque `cursor` every other list of the API takes. A cursor carries
 * the folder's UIDVALIDITY with the UID, so a cursor given out before the
 * folder was rebuilt (UIDVALIDITY changed: its UIDs now name other messages)
 * is refused instead of silently serving a page of unrelated mail.
 *
 * Dates: IMAP SEARCH compares days, not times (SINCE: received on or after
 * that day; BEFORE: received before it), so `since` and `before` are days,
 * and a `before` not after `since` can match nothing.
 */
import type { MessageSearch } from '../../adapters/imap/reader-session.js';
import { ValidationError } from '../../errors/errors.js';
import type { ListMessagesQueryT } from './model.js';

export interface PageStart {
  /** Only UIDs below this one. */
  beforeUid: number | undefined;
  /** The UIDVALIDITY the cursor was given under, to check against the folder's. */
  uidValidity: number | undefined;
}

const CURSOR_PREFIX = 'm1';
const MAX_UINT32 = 4_294_967_295;

export function encodeMessageCursor(uidValidity: number, beforeUid: number): string {
  return Buffer.from(`${CURSOR_PREFIX}:${uidValidity}:${beforeUid}`, 'utf8').toString('base64url');
}

function decodeMessageCursor(raw: string): { uidValidity: number; beforeUid: number } | undefined {
  const match = /^m1:(0|[1-9][0-9]{0,9}):([1-9][0-9]{0,9})$/.exec(Buffer.from(raw, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const uidValidity = Number(match[1]);
  const beforeUid = Number(match[2]);
  return uidValidity <= MAX_UINT32 && beforeUid <= MAX_UINT32 ? { uidValidity, beforeUid } : undefined;
}

const invalid = (field: string, message: string, detail: string, hint?: string): ValidationError =>
  new ValidationError(detail, [{ field: `/${field}`, message }], hint);

/** Where the page starts: from `cursor` or `beforeUid` (not both), or the newest message. */
export function pageStart(query: Pick<ListMessagesQueryT, 'cursor' | 'beforeUid'>): PageStart {
  if (query.cursor !== undefined && query.beforeUid !== undefined) {
    throw invalid('cursor', 'not together with beforeUid', 'cursor and beforeUid both say where the page starts: pass one.');
  }
  if (query.cursor === undefined) return { beforeUid: query.beforeUid, uidValidity: undefined };
  const cursor = decodeMessageCursor(query.cursor);
  if (!cursor) throw invalid('cursor', 'is not a valid cursor', 'The cursor is not a cursor this API gave out.', 'Pass the nextCursor of the previous page as it was given.');
  return cursor;
}

/** The cursor's UIDVALIDITY against the folder's: another one means its UID names another message now. */
export function checkCursorValidity(start: PageStart, folderUidValidity: number): void {
  if (start.uidValidity === undefined || start.uidValidity === folderUidValidity) return;
  throw invalid(
    'cursor', 'is from before the folder\'s UIDVALIDITY changed',
    `The folder's UIDVALIDITY changed (${start.uidValidity} → ${folderUidValidity}) since this cursor was given: its UIDs name other messages now.`,
    'Start again from the first page (without cursor).',
  );
}

/** The search the query asks for; undefined when it asks for none (the plain newest-first list). */
export function searchOf(query: ListMessagesQueryT): MessageSearch | undefined {
  const search: MessageSearch = {};
  for (const key of ['from', 'to', 'subject', 'text'] as const) {
    const value = query[key];
    if (value !== undefined) search[key] = value;
  }
  if (query.since !== undefined) search.since = day('since', query.since);
  if (query.before !== undefined) search.before = day('before', query.before);
  if (search.since !== undefined && search.before !== undefined && search.since >= search.before) {
    throw invalid(
      'before', 'must be after since',
      `before (${search.before}) must be a later day than since (${search.since}): before is exclusive, so the search could match nothing.`,
      'IMAP SEARCH compares days: since=2025-06-03&before=2025-06-04 is the mail received on 3 June.',
    );
  }
  if (query.seen !== undefined) search.seen = query.seen;
  if (query.flagged !== undefined) search.flagged = query.flagged;
  return Object.keys(search).length > 0 ? search : undefined;
}

/** A YYYY-MM-DD that names a real day (the schema checks the shape; this the calendar, whatever the validator does). */
function day(field: string, value: string): string {
  const date = new Date(`${value}T00:00:00.000Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    throw invalid(field, 'must be a day, YYYY-MM-DD', `${field} must be a day as YYYY-MM-DD (${JSON.stringify(value.slice(0, 20))} is none).`);
  }
  return value;
}
