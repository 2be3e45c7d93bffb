/**
 * One poll's look at a tracked folder (issue 16): fetch the flags of the
 * window, diff them against the stored window (tracking.ts), announce each
 * change, then save the new window. The window is saved only after every
 * event of the diff is durably published: a poll interrupted in between
 * (a killed worker, Redis failing) finds the same differences next time and
 * publishes them with the same ids, which the publisher deduplicates.
 *
 * The cheap look (bench/track-fetch: FETCH of 1,000 flags costs the client
 * about 16 ms of CPU and 56 KB, four SEARCHes about 1 ms and 5 KB): a poll
 * reads the stored window's header alone and asks the server four `UID SEARCH
 * UID <low>:*` (all, UNSEEN, FLAGGED, ANSWERED); when their digest equals the
 * window's, nothing a search can see changed (no message left or arrived, no
 * \Seen, \Flagged or \Answered changed) and the poll is done. Keywords,
 * \Draft and \Deleted are invisible to it: a full look (below) is taken at
 * least every `fullLookSeconds` (POLL_TRACK_FULL_LOOK_SECONDS, 15 minutes), so their changes are
 * announced within it.
 *
 * Round trips of the full look: a poll that finds no change costs one `FETCH <n-size+1>:*
 * (UID FLAGS)`. When new mail pushed messages out of the window, one `UID
 * FETCH` of the UIDs it pushed out tells a message that aged out (still there)
 * from one that left (a deletion to announce). When deletions are followed,
 * messages new to the window cost one FETCH of their Message-ID header; when
 * only flags are, the messages that changed do.
 */
import { newEvent, type EventPublisher } from '../events/events.js';
import type { MailboxRecord } from '../mailboxes/service.js';
import type { TrackRecord } from '../mailboxes/track.js';
import type { TrackedWindows } from './ports.js';
import {
  baselineWindow, changeEventId, diffWindow, isCurrent, searchDigest, type ObservedFlags, type TrackedMessage, type TrackedWindow,
  type WindowSearch,
} from './tracking.js';

/** What following changes needs of the poll's IMAP session (the adapter's PollSession provides it). */
export interface TrackingSession {
  /** The flags of the newest `count` messages of the folder (FETCH by sequence number), at most `max` answers. */
  fetchNewestFlags(path: string, count: number, max: number): Promise<ObservedFlags[]>;
  /** The flags of the messages with UIDs from `fromUid` to `toUid`, at most `max` answers. */
  fetchFlagsBetween(path: string, fromUid: number, toUid: number, max: number): Promise<ObservedFlags[]>;
  /** The Message-ID header of each of these UIDs (null when it has none or it is gone). */
  fetchMessageIds(path: string, uids: readonly number[]): Promise<Map<number, string | null>>;
  /** The four searches of the cheap look over UIDs from `low` up (absent: every poll takes the full look). */
  searchWindow?(path: string, low: number): Promise<WindowSearch>;
}

export interface TrackFolderPorts {
  windows: TrackedWindows;
  events: EventPublisher;
  now(): Date;
  /** A full look (every flag FETCHed) at least this often (s), for the changes searches cannot see; 0: always. */
  fullLookSeconds: number;
}

export interface TrackFolderResult {
  updated: number;
  deleted: number;
  baseline: boolean;
}

/** When a folder's window started: tracking switched on, or the folder watched, whichever is later (s). */
export function windowSince(mailbox: MailboxRecord, track: TrackRecord, folder: string): number {
  const watched = mailbox.folderSince?.[folder];
  const since = Math.max(Date.parse(track.since), watched === undefined ? 0 : Date.parse(watched));
  return Math.floor(since / 1000);
}

/** The Message-IDs of the joined messages filled in. */
async function withMessageIds(session: TrackingSession, path: string, messages: TrackedMessage[], joined: readonly number[]): Promise<TrackedMessage[]> {
  if (joined.length === 0) return messages;
  const ids = await session.fetchMessageIds(path, joined);
  return messages.map((m) => (ids.has(m.uid) ? { ...m, messageId: ids.get(m.uid) ?? null } : m));
}

/** Whether the cheap look finds the stored window unchanged (and no full look is due). */
async function unchanged(
  mailboxId: string, folder: string, path: string, uidValidity: number, since: number, keepIds: boolean, now: number,
  session: TrackingSession, ports: TrackFolderPorts,
): Promise<boolean> {
  if (!session.searchWindow || !ports.windows.summary) return false;
  const summary = await ports.windows.summary(mailboxId, folder);
  if (!isCurrent(summary, uidValidity, since, keepIds) || summary.low === 0 || now - summary.checkedAt >= ports.fullLookSeconds) return false;
  return searchDigest(await session.searchWindow(path, summary.low), summary.low) === summary.digest;
}

export async function trackFolder(
  mailbox: MailboxRecord, track: TrackRecord, folder: string, path: string, uidValidity: number,
  session: TrackingSession, ports: TrackFolderPorts,
): Promise<TrackFolderResult> {
  const since = windowSince(mailbox, track, folder);
  const keepIds = track.deletions;
  const now = Math.floor(ports.now().getTime() / 1000);
  if (await unchanged(mailbox.id, folder, path, uidValidity, since, keepIds, now, session, ports)) {
    return { updated: 0, deleted: 0, baseline: false };
  }
  const stored = await ports.windows.load(mailbox.id, folder);
  // A hostile server answering more than asked is cut short (the adapter stops collecting).
  const newest = await session.fetchNewestFlags(path, track.window, track.window);
  if (!isCurrent(stored, uidValidity, since, keepIds)) {
    const window = baselineWindow(newest, track.window, uidValidity, since, keepIds);
    const messages = keepIds ? await withMessageIds(session, path, window.messages, window.messages.map((m) => m.uid)) : window.messages;
    await ports.windows.save(mailbox.id, folder, { ...window, checkedAt: now, messages });
    return { updated: 0, deleted: 0, baseline: true };
  }
  const observed = [...newest];
  const lowest = newest.reduce((low, m) => Math.min(low, m.uid), Number.POSITIVE_INFINITY);
  const first = stored.messages[0];
  if (first && first.uid < lowest) {
    // New mail pushed these out of the newest `window`: still there (aged out) or gone (deleted)?
    const below = Number.isFinite(lowest) ? lowest - 1 : stored.messages[stored.messages.length - 1]!.uid;
    observed.push(...await session.fetchFlagsBetween(path, first.uid, below, stored.messages.length));
  }
  const plan = diffWindow(stored, observed, track.window);
  if (!plan.changed) {
    // The full look found nothing: the window as it was, looked at now (the cheap looks rely on it).
    await ports.windows.save(mailbox.id, folder, { ...stored, checkedAt: now });
    return { updated: 0, deleted: 0, baseline: false };
  }
  const messages = keepIds ? await withMessageIds(session, path, plan.next, plan.joined) : plan.next;
  const base = { mailboxId: mailbox.id, email: mailbox.email, folder: path, uidValidity };
  if (track.flags && plan.updated.length > 0) {
    const ids = keepIds ? undefined : await session.fetchMessageIds(path, plan.updated.map((c) => c.uid));
    for (const change of plan.updated) {
      const messageId = ids ? ids.get(change.uid) ?? null : change.messageId;
      await ports.events.publish(newEvent('message.updated', {
        ...base, uid: change.uid, messageId, flags: change.flags, changed: change.changed,
      }, changeEventId('upd', mailbox.id, path, uidValidity, change.uid, change.key)));
    }
  }
  if (track.deletions) {
    for (const gone of plan.deleted) {
      await ports.events.publish(newEvent('message.deleted', {
        ...base, uid: gone.uid, messageId: gone.messageId,
      }, changeEventId('del', mailbox.id, path, uidValidity, gone.uid, 'deleted')));
    }
  }
  const next: TrackedWindow = { uidValidity, since, version: stored.version + 1, messageIds: keepIds, checkedAt: now, messages };
  await ports.windows.save(mailbox.id, folder, next);
  return { updated: track.flags ? plan.updated.length : 0, deleted: track.deletions ? plan.deleted.length : 0, baseline: false };
}
