/**
 * Following changes (issue 16): what changed in a folder's tracked window
 * between two polls. Pure: no I/O.
 *
 * A window is the newest `size` messages of one folder, as the last poll saw
 * them: per message its UID, a flag code (the system flags as bits, and one
 * byte digesting its keywords) and, when deletions are followed, its
 * Message-ID (a message.deleted must name it, and once the message is gone
 * nobody can be asked). A window following flags alone keeps no Message-IDs
 * (they are most of its size): an update asks the server for the changed
 * messages' Message-IDs, as they are still there. The poll fetches the
 * flags of every UID from the window's lowest to the newest (`UID FETCH
 * <low>:* (FLAGS)`), so a message of the window that is missing left the
 * folder (expunged, moved out, deleted), and one whose code differs changed.
 * Messages new to the window (new mail, or older ones moving in when one
 * leaves) join it silently: their arrival is message.received's to announce.
 *
 * Decisions:
 * - No window, a window of another UIDVALIDITY, or one taken before tracking
 *   was switched on (or the folder watched): a new baseline, announcing
 *   nothing (no flood of deletions after a folder is recreated).
 * - Event ids are derived from what changed, so a poll repeated after a crash
 *   (the window is saved only after the events are published) publishes the
 *   same ids, which the publisher and receivers deduplicate. An update's id
 *   includes the window's version (bumped at every save that changed it): the
 *   same flag set, cleared and set again is three changes, not one.
 * - Keywords are compared through a one-byte digest: a change of keywords
 *   is missed with a chance of 1 in 255; the flags list sent is the server's.
 */
import { createHash } from 'node:crypto';

export const SEEN = 1;
export const FLAGGED = 2;
export const ANSWERED = 4;
export const DELETED = 8;
export const DRAFT = 16;

const SYSTEM_FLAGS: ReadonlyMap<string, number> = new Map([
  ['\\seen', SEEN], ['\\flagged', FLAGGED], ['\\answered', ANSWERED], ['\\deleted', DELETED], ['\\draft', DRAFT],
]);

export interface TrackedMessage {
  uid: number;
  /** SEEN | FLAGGED | ANSWERED | DELETED | DRAFT. */
  code: number;
  /** A digest of the message's keywords (1-255), 0 when it has none. */
  keywords: number;
  messageId: string | null;
}

export interface TrackedWindow {
  uidValidity: number;
  /** Seconds since the epoch of when tracking (or watching the folder) began: older windows are stale. */
  since: number;
  /** Bumped at every save that changed the window; part of message.updated ids. */
  version: number;
  /** Whether it keeps its messages' Message-IDs (deletions followed); when not, every messageId is null. */
  messageIds: boolean;
  /** Seconds since the epoch of its last full look (a FETCH of every flag); 0 when not known. */
  checkedAt: number;
  /** Ascending by UID, unique. */
  messages: TrackedMessage[];
}

/** One message as the window FETCH answered: its UID and flags (the adapter bounds them). */
export interface ObservedFlags {
  uid: number;
  flags: readonly string[];
}

export interface FlagChange {
  uid: number;
  messageId: string | null;
  flags: string[];
  changed: { seen?: boolean; flagged?: boolean; answered?: boolean };
  /** Part of its event id: the window version and both codes. */
  key: string;
}

export interface Departure {
  uid: number;
  messageId: string | null;
}

export interface WindowDiff {
  updated: FlagChange[];
  deleted: Departure[];
  /** UIDs new to the window: their Message-IDs are wanted before it is saved. */
  joined: number[];
  /** The messages the next window keeps (ids of joined ones still null), ascending. */
  next: TrackedMessage[];
  /** Whether anything differs from the stored window (else no save is needed). */
  changed: boolean;
}

/**
 * What four `UID SEARCH`es over the window's UIDs (`<low>:*`) see: the messages there, and which of
 * them are unseen, flagged, answered. Much cheaper than a FETCH of every flag (bench/track-fetch),
 * but blind to keywords, \Draft and \Deleted: a poll whose searches match the stored window skips
 * the FETCH, and a full look is taken at least every `fullLookSeconds` (track-folder.ts).
 */
export interface WindowSearch {
  all: readonly number[];
  unseen: readonly number[];
  flagged: readonly number[];
  answered: readonly number[];
}

/** The header of a stored window: enough to tell whether a poll's searches see it unchanged. */
export interface WindowSummary {
  uidValidity: number;
  since: number;
  messageIds: boolean;
  checkedAt: number;
  /** The window's lowest UID (0: an empty window). */
  low: number;
  /** windowDigest of its messages. */
  digest: string;
}

const SEEN_FLAGGED_ANSWERED = SEEN | FLAGGED | ANSWERED;

function digestOf(entries: readonly (readonly [number, number])[]): string {
  const hash = createHash('sha256');
  for (const [uid, bits] of entries) hash.update(`${uid}:${bits},`);
  return hash.digest('base64url').slice(0, 22);
}

/** The UIDs of a window and their \Seen, \Flagged and \Answered bits, digested (ascending UIDs). */
export function windowDigest(messages: readonly TrackedMessage[]): string {
  return digestOf(messages.map((m) => [m.uid, m.code & SEEN_FLAGGED_ANSWERED] as const));
}

/** The same digest of what the searches saw from `low` up: equal to windowDigest when nothing they can see changed. */
export function searchDigest(search: WindowSearch, low: number): string {
  const unseen = new Set(search.unseen);
  const flagged = new Set(search.flagged);
  const answered = new Set(search.answered);
  const uids = [...new Set(search.all)].filter((uid) => Number.isInteger(uid) && uid >= low).sort((a, b) => a - b);
  return digestOf(uids.map((uid) => [uid, (unseen.has(uid) ? 0 : SEEN) | (flagged.has(uid) ? FLAGGED : 0) | (answered.has(uid) ? ANSWERED : 0)] as const));
}

/** The flag code and keyword digest of a flag list. */
export function flagCode(flags: readonly string[]): { code: number; keywords: number } {
  let code = 0;
  const keywords: string[] = [];
  for (const flag of flags) {
    const bit = SYSTEM_FLAGS.get(flag.toLowerCase());
    if (bit !== undefined) code |= bit;
    else if (!flag.startsWith('\\')) keywords.push(flag.toLowerCase());
  }
  if (keywords.length === 0) return { code, keywords: 0 };
  const digest = createHash('sha256').update([...new Set(keywords)].sort().join(' ')).digest();
  return { code, keywords: (digest[0]! % 255) + 1 };
}

/**
 * Whether a stored window is still a baseline for this folder state and these settings (one
 * without Message-IDs cannot name what deletions followed from now on remove: a new baseline).
 */
export function isCurrent<W extends Pick<TrackedWindow, 'uidValidity' | 'since' | 'messageIds'>>(
  window: W | undefined, uidValidity: number, since: number, messageIds: boolean,
): window is W {
  return window !== undefined && window.uidValidity === uidValidity && window.since === since && window.messageIds === messageIds;
}

/** The newest `size` of `observed`, ascending and unique: the next window's members. */
function newest(observed: readonly ObservedFlags[], size: number): ObservedFlags[] {
  const byUid = new Map<number, ObservedFlags>();
  for (const message of observed) if (Number.isInteger(message.uid) && message.uid > 0) byUid.set(message.uid, message);
  return [...byUid.values()].sort((a, b) => a.uid - b.uid).slice(-size);
}

const bit = (code: number, flag: number): boolean => (code & flag) !== 0;

/**
 * What changed between `previous` (the stored window) and `observed` (the flags of every UID from
 * the window's lowest UID up), keeping the newest `size` messages.
 */
export function diffWindow(previous: TrackedWindow, observed: readonly ObservedFlags[], size: number): WindowDiff {
  const seen = new Map<number, ObservedFlags>();
  for (const message of observed) seen.set(message.uid, message);
  const deleted: Departure[] = [];
  const updated: FlagChange[] = [];
  const before = new Map<number, TrackedMessage>();
  for (const kept of previous.messages) {
    before.set(kept.uid, kept);
    const now = seen.get(kept.uid);
    if (!now) {
      deleted.push({ uid: kept.uid, messageId: kept.messageId });
      continue;
    }
    const { code, keywords } = flagCode(now.flags);
    if (code === kept.code && keywords === kept.keywords) continue;
    const changed: FlagChange['changed'] = {};
    if (bit(code, SEEN) !== bit(kept.code, SEEN)) changed.seen = bit(code, SEEN);
    if (bit(code, FLAGGED) !== bit(kept.code, FLAGGED)) changed.flagged = bit(code, FLAGGED);
    if (bit(code, ANSWERED) !== bit(kept.code, ANSWERED)) changed.answered = bit(code, ANSWERED);
    updated.push({
      uid: kept.uid, messageId: kept.messageId, flags: [...now.flags], changed,
      key: `${previous.version}:${kept.code}.${kept.keywords}>${code}.${keywords}`,
    });
  }
  const next: TrackedMessage[] = [];
  const joined: number[] = [];
  for (const message of newest(observed, size)) {
    const { code, keywords } = flagCode(message.flags);
    const kept = before.get(message.uid);
    if (!kept) joined.push(message.uid);
    next.push({ uid: message.uid, code, keywords, messageId: kept?.messageId ?? null });
  }
  const changed = deleted.length > 0 || updated.length > 0 || joined.length > 0 || next.length !== previous.messages.length;
  return { updated, deleted, joined, next, changed };
}

/** A baseline window of the newest `size` of `observed`, Message-IDs still to be filled in. */
export function baselineWindow(
  observed: readonly ObservedFlags[], size: number, uidValidity: number, since: number, messageIds: boolean,
): TrackedWindow {
  const messages = newest(observed, size).map((m) => ({ uid: m.uid, ...flagCode(m.flags), messageId: null }));
  return { uidValidity, since, version: 0, messageIds, checkedAt: 0, messages };
}

/** The stable event id of one change (`change`: the FlagChange key, or `deleted`). */
export function changeEventId(
  prefix: 'upd' | 'del', mailboxId: string, folder: string, uidValidity: number, uid: number, change: string,
): string {
  const digest = createHash('sha256').update(`${mailboxId}\n${folder}\n${uidValidity}\n${uid}\n${change}`).digest('base64url');
  return `${prefix}_${digest.slice(0, 32)}`;
}
