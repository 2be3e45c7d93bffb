/**
 * The folder cursor, and what one poll should do with a folder's STATUS.
 *
 * A cursor records the folder's UIDVALIDITY and the highest UID announced.
 * - No cursor yet (mailbox just added, or folder newly watched): take a
 *   baseline at the current UIDNEXT and announce nothing: mail present when
 *   the mailbox was added is not announced.
 * - UIDVALIDITY changed: every UID is meaningless now; take a new baseline
 *   (announcing nothing, rather than the whole folder again) and say so.
 * - UIDNEXT moved past the cursor: fetch UIDs above the last one announced.
 * - Otherwise nothing changed: the poll cost one STATUS round trip.
 * Pure: no I/O.
 */

export interface FolderCursor {
  uidValidity: number;
  uidNext: number;
  lastSeenUid: number;
}

export interface FolderStatus {
  uidValidity: number;
  uidNext: number;
  messages?: number;
  highestModseq?: bigint | number;
}

export type FolderPlan =
  | { kind: 'baseline'; cursor: FolderCursor; reason: 'new' | 'uidvalidity_changed' }
  | { kind: 'unchanged'; cursor: FolderCursor }
  | { kind: 'fetch'; fromUid: number; cursor: FolderCursor };

export function planFolder(previous: FolderCursor | undefined, status: FolderStatus): FolderPlan {
  const baseline: FolderCursor = { uidValidity: status.uidValidity, uidNext: status.uidNext, lastSeenUid: Math.max(0, status.uidNext - 1) };
  if (!previous) return { kind: 'baseline', cursor: baseline, reason: 'new' };
  if (previous.uidValidity !== status.uidValidity) return { kind: 'baseline', cursor: baseline, reason: 'uidvalidity_changed' };
  // A server may answer from a stale view; the cursor never moves backwards.
  if (status.uidNext <= previous.lastSeenUid + 1) return { kind: 'unchanged', cursor: { ...previous, uidNext: Math.max(previous.uidNext, status.uidNext) } };
  return { kind: 'fetch', fromUid: previous.lastSeenUid + 1, cursor: previous };
}

/** The cursor after announcing `uid` (UIDs are announced in ascending order). */
export function advance(cursor: FolderCursor, uid: number, uidNext: number): FolderCursor {
  return { uidValidity: cursor.uidValidity, uidNext: Math.max(cursor.uidNext, uidNext, uid + 1), lastSeenUid: Math.max(cursor.lastSeenUid, uid) };
}
