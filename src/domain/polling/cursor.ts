/**
 * The folder cursor, and what one poll should do with a folder's STATUS.
 *
 * A cursor records the folder's UIDVALIDITY and the highest UID announced.
 * - No cursor yet (mailbox just added, or folder newly watched): start at
 *   the first message the server received since the folder has been watched
 *   (`watchedSince`), so mail present when the mailbox was added is not
 *   announced and mail that came before its first good poll is (that poll
 *   may come an interval later, or after a sign-in or an outage).
 * - UIDVALIDITY changed: every UID is meaningless now; take a new baseline
 *   (announcing nothing, rather than the whole folder again) and say so.
 * - UIDNEXT moved past the cursor: fetch UIDs above the last one announced.
 * - Otherwise nothing changed: the poll cost one STATUS round trip.
 *
 * A FETCH answer larger than the service accepts (a message with an enormous
 * header) marks the cursor: `suspectUntil`, the last UID of the failed batch,
 * makes the next polls fetch one message at a time up to it; `tooLargeUid`,
 * a message that failed alone, is announced next by UID and size only. Both
 * fall away once the cursor passes them.
 * Pure: no I/O.
 */

export interface FolderCursor {
  uidValidity: number;
  uidNext: number;
  lastSeenUid: number;
  /** Fetch one message at a time up to this UID: a batch up to it had a response too large. */
  suspectUntil?: number;
  /** This message's envelope alone was too large: announce it without one. */
  tooLargeUid?: number;
  /** When the folder last changed UIDVALIDITY (set by the poll that took the new baseline; kept since). */
  uidValidityChangedAt?: string;
}

export interface FolderStatus {
  uidValidity: number;
  uidNext: number;
  messages?: number;
  highestModseq?: bigint | number;
}

export type FolderPlan =
  | { kind: 'start' }
  | { kind: 'baseline'; cursor: FolderCursor }
  | { kind: 'unchanged'; cursor: FolderCursor }
  | { kind: 'fetch'; fromUid: number; cursor: FolderCursor };

export function planFolder(previous: FolderCursor | undefined, status: FolderStatus): FolderPlan {
  if (!previous) return { kind: 'start' };
  if (previous.uidValidity !== status.uidValidity) return { kind: 'baseline', cursor: startCursor(status, undefined) };
  // A server may answer from a stale view; the cursor never moves backwards.
  if (status.uidNext <= previous.lastSeenUid + 1) return { kind: 'unchanged', cursor: { ...previous, uidNext: Math.max(previous.uidNext, status.uidNext) } };
  return { kind: 'fetch', fromUid: previous.lastSeenUid + 1, cursor: previous };
}

/**
 * The first cursor of a folder: before `firstUid`, the first message received since the folder
 * has been watched, or at the end of the folder when none was.
 */
export function startCursor(status: FolderStatus, firstUid: number | undefined): FolderCursor {
  const end = Math.max(0, status.uidNext - 1);
  return { uidValidity: status.uidValidity, uidNext: status.uidNext, lastSeenUid: firstUid === undefined ? end : Math.min(end, Math.max(0, firstUid - 1)) };
}

/** The cursor after announcing `uid` (UIDs are announced in ascending order). */
export function advance(cursor: FolderCursor, uid: number, uidNext: number): FolderCursor {
  const lastSeenUid = Math.max(cursor.lastSeenUid, uid);
  return {
    uidValidity: cursor.uidValidity,
    uidNext: Math.max(cursor.uidNext, uidNext, uid + 1),
    lastSeenUid,
    ...(cursor.uidValidityChangedAt !== undefined ? { uidValidityChangedAt: cursor.uidValidityChangedAt } : {}),
    ...(cursor.suspectUntil !== undefined && cursor.suspectUntil > lastSeenUid ? { suspectUntil: cursor.suspectUntil } : {}),
    ...(cursor.tooLargeUid !== undefined && cursor.tooLargeUid > lastSeenUid ? { tooLargeUid: cursor.tooLargeUid } : {}),
  };
}

/**
 * The FETCHes for `uids` (ascending, above the cursor, from one search): `batchSize` at a time, and
 * one at a time up to the cursor's suspectUntil or tooLargeUid (a response too large is being
 * narrowed down or skipped there).
 */
export function planBatches(cursor: FolderCursor, uids: readonly number[], batchSize: number): number[][] {
  const aloneUpTo = Math.max(cursor.suspectUntil ?? 0, cursor.tooLargeUid ?? 0);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const uid of uids) {
    if (uid <= aloneUpTo) {
      batches.push([uid]);
      continue;
    }
    current.push(uid);
    if (current.length >= batchSize) {
      batches.push(current);
      current = [];
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** The cursor after a FETCH of `uids` came back too large: narrow it down, or name the message. */
export function markTooLarge(cursor: FolderCursor, uids: readonly number[]): FolderCursor {
  const [first, last] = [uids[0], uids[uids.length - 1]];
  if (first === undefined || last === undefined) return cursor;
  return uids.length === 1 ? { ...cursor, tooLargeUid: first } : { ...cursor, suspectUntil: last };
}
