/**
 * One poll of one mailbox: a token, a session, and per folder a STATUS that
 * decides whether anything needs fetching. New messages are announced in UID
 * order, a FETCH batch at a time (announce.ts: one publish per batch, the next
 * batch's FETCH under way meanwhile), each batch *before* the cursor moves past
 * it and is saved: a poll interrupted anywhere (a killed worker, a Redis
 * command failing halfway) announces again at most the messages after the
 * last saved cursor, with the same event ids, which the event publisher and
 * receivers deduplicate. Nothing is ever skipped.
 *
 * When a consumer wants the messages' content (a webhook `include`; the
 * publisher is asked once per poll), each message is downloaded and parsed
 * once before it is announced (content.ts), within a byte budget per folder
 * per poll: past it the poll ends after that message and the next one goes on
 * at once, so a backlog of large messages cannot hold a poll past its deadline.
 */
import { classify } from '../../errors/classify.js';
import { AppError, isResponseTooLarge } from '../../errors/errors.js';
import type { ErrorInfo, EventPublisher, MessageSummary } from '../events/events.js';
import type { MailboxRecord } from '../mailboxes/service.js';
import { isTracked } from '../mailboxes/track.js';
import { watchedSince } from '../mailboxes/watched-folders.js';
import type { AccessToken } from '../tokens/token-service.js';
import { announceBatch, usesSession, type AnnounceTarget, type FetchedEnvelope } from './announce.js';
import type { BounceHandler } from './bounce-check.js';
import type { ContentPorts, ContentSession } from './content.js';
import type { TrackedWindows } from './ports.js';
import { trackFolder, type TrackingSession } from './track-folder.js';
import {
  advance, markTooLarge, planBatches, planFolder, startCursor, type FolderCursor, type FolderStatus,
} from './cursor.js';

export type { FetchedEnvelope } from './announce.js';

/** What a poll needs of an IMAP session (the adapter's PollSession provides it). */
export interface MailSession extends ContentSession, Partial<TrackingSession> {
  resolveFolder(nameOrUse: string): Promise<string | undefined>;
  status(path: string): Promise<FolderStatus & { path: string }>;
  /** The lowest UID up to `toUid` of a message received at or after `since` (to the second). */
  firstUidSince(path: string, since: Date, toUid: number): Promise<number | undefined>;
  /** The first `limit` UIDs from `fromUid` to `toUid`, ascending. */
  searchUids(path: string, fromUid: number, toUid: number, limit: number): Promise<number[]>;
  /** Their envelopes and Content-Types, ascending; an expunged message is missing. */
  fetchEnvelopes(path: string, uids: readonly number[]): Promise<FetchedEnvelope[]>;
  /** UID and size only, marked envelopeTooLarge. */
  fetchSizes(path: string, uids: readonly number[]): Promise<MessageSummary[]>;
}

export interface PollerPorts {
  token(mailbox: MailboxRecord): Promise<AccessToken>;
  /** A logged-in session (reused or new); `done` gives it back, keeping it when the poll went well. */
  session(mailbox: MailboxRecord, token: AccessToken): Promise<{ session: MailSession; done(keep: boolean): void }>;
  /** Saves one folder's cursor on the mailbox. */
  saveCursor(mailboxId: string, folder: string, cursor: FolderCursor): Promise<void>;
  events: EventPublisher;
  /** The tracked windows, for mailboxes that follow changes (issue 16). */
  windows?: TrackedWindows;
  /** Downloading and parsing a message for the consumers that want its content. */
  content: ContentPorts;
  /** Delivery reports found among new mail, matched to the sends they report on (bounce-check.ts). */
  bounces?: BounceHandler;
  now(): Date;
}

export interface PollOptions {
  /** Messages announced per folder per poll at most; the rest wait for the next poll (bounded memory). */
  maxMessagesPerFolder: number;
  /** Envelopes fetched per round trip. */
  batchSize: number;
  /**
   * Message bytes (RFC822.SIZE) downloaded for content per folder per poll; the poll stops after the
   * message that reaches it and the next poll goes on at once.
   */
  maxContentBytes: number;
  /** A tracked folder's full look at least this often (s); 0: at every poll (track-folder.ts). */
  fullLookSeconds: number;
}

export type PollResult =
  | { kind: 'ok'; announced: number; more: boolean; rebaselined: string[]; changes?: number }
  | { kind: 'auth_error' | 'error'; error: ErrorInfo; cause: unknown }
  | { kind: 'throttled'; error: ErrorInfo; retryAfterMs: number | undefined; cause: unknown };

const AUTH_CODES: ReadonlySet<string> = new Set(['imap_auth_failed', 'shared_mailbox_access_denied', 'imap_not_connected', 'not_authorized', 'missing_permission']);

export function errorInfo(err: unknown): ErrorInfo {
  const c = classify(err);
  return { code: c.code, detail: c.detail, ...(c.hint ? { hint: c.hint } : {}) };
}

/** Which state a failure puts the mailbox in. Token refusals and IMAP login refusals are auth errors. */
export function failureResult(err: unknown): PollResult {
  const c = classify(err);
  const error = errorInfo(err);
  if (c.code === 'imap_throttled') {
    const retryAfterMs = (err as { fields?: { retryAfterMs?: unknown } }).fields?.retryAfterMs;
    return { kind: 'throttled', error, retryAfterMs: typeof retryAfterMs === 'number' ? retryAfterMs : undefined, cause: err };
  }
  // Token refusals carry the setup step that fixes them; a missing folder is a plain error.
  if (AUTH_CODES.has(c.code) || (c.status === 422 && !c.retryable && c.step !== undefined)) return { kind: 'auth_error', error, cause: err };
  return { kind: 'error', error, cause: err };
}

export async function pollMailbox(mailbox: MailboxRecord, ports: PollerPorts, options: PollOptions): Promise<PollResult> {
  let token: AccessToken;
  try {
    token = await ports.token(mailbox);
  } catch (err) {
    return failureResult(err);
  }
  let lease: { session: MailSession; done(keep: boolean): void };
  try {
    lease = await ports.session(mailbox, token);
  } catch (err) {
    return failureResult(err);
  }
  let healthy = false;
  try {
    // Once per poll, not per message, and only by a folder with mail to announce: a poll that finds
    // nothing new asks nothing (the publisher answers from its cached subscriptions, after a GET).
    let asked: Promise<boolean> | undefined;
    const wantsContent = (): Promise<boolean> => (asked ??= ports.events.contentWanted?.(mailbox.id) ?? Promise.resolve(false));
    let announced = 0;
    let changes = 0;
    let more = false;
    const rebaselined: string[] = [];
    for (const folder of mailbox.folders) {
      const path = await lease.session.resolveFolder(folder);
      if (!path) {
        throw new AppError('imap_folder_not_found', `The folder ${folder} does not exist in ${mailbox.email}.`, {
          hint: 'Check the folder name (or special use such as \\Sent) in the mailbox settings.',
        });
      }
      const result = await pollFolder(mailbox, folder, path, lease.session, ports, { ...options, wantsContent });
      announced += result.announced;
      more ||= result.more;
      if (result.rebaselined) rebaselined.push(folder);
      // After the new mail: what joins the window now was announced as received first.
      if (isTracked(mailbox.track)) changes += await trackChanges(mailbox, folder, path, result.uidValidity, lease.session, ports, options.fullLookSeconds);
    }
    healthy = true;
    return { kind: 'ok', announced, more, rebaselined, changes };
  } catch (err) {
    return failureResult(err);
  } finally {
    lease.done(healthy);
  }
}

async function trackChanges(
  mailbox: MailboxRecord, folder: string, path: string, uidValidity: number, session: MailSession, ports: PollerPorts, fullLookSeconds: number,
): Promise<number> {
  const { fetchNewestFlags, fetchFlagsBetween, fetchMessageIds, searchWindow } = session;
  if (!mailbox.track || !ports.windows || !fetchNewestFlags || !fetchFlagsBetween || !fetchMessageIds) {
    throw new AppError('internal', 'Following changes needs tracked windows and a session that fetches flags.');
  }
  const tracking: TrackingSession = {
    fetchNewestFlags: fetchNewestFlags.bind(session),
    fetchFlagsBetween: fetchFlagsBetween.bind(session),
    fetchMessageIds: fetchMessageIds.bind(session),
    ...(searchWindow ? { searchWindow: searchWindow.bind(session) } : {}),
  };
  const result = await trackFolder(mailbox, mailbox.track, folder, path, uidValidity, tracking, { windows: ports.windows, events: ports.events, now: ports.now, fullLookSeconds });
  return result.updated + result.deleted;
}

/** A FETCH of envelopes under way, settled: a poll that ends before reading it leaves no rejection behind. */
type Fetching = Promise<{ ok: true; envelopes: FetchedEnvelope[] } | { ok: false; error: unknown }>;

function startFetch(session: MailSession, path: string, cursor: FolderCursor, uids: readonly number[]): Fetching {
  const fetch = uids.length === 1 && uids[0] === cursor.tooLargeUid ? session.fetchSizes(path, uids) : session.fetchEnvelopes(path, uids);
  return fetch.then((envelopes) => ({ ok: true as const, envelopes }), (error: unknown) => ({ ok: false as const, error }));
}

/**
 * The envelopes of `uids` (startFetch). A response too large (a message with an enormous header; the
 * session is gone with it) marks the cursor before the poll fails: the next polls narrow the batch
 * down one message at a time, then announce the culprit by UID and size alone (fetchSizes), so one
 * message cannot hold a folder in error for ever.
 */
async function envelopesOf(
  fetching: Fetching, mailboxId: string, folder: string, ports: PollerPorts, cursor: FolderCursor, uids: readonly number[],
): Promise<FetchedEnvelope[]> {
  const result = await fetching;
  if (result.ok) return result.envelopes;
  if (isResponseTooLarge(result.error)) await ports.saveCursor(mailboxId, folder, markTooLarge(cursor, uids));
  throw result.error;
}

async function pollFolder(
  mailbox: MailboxRecord, folder: string, path: string, session: MailSession, ports: PollerPorts, options: PollOptions & { wantsContent: () => Promise<boolean> },
): Promise<{ announced: number; more: boolean; rebaselined: boolean; uidValidity: number }> {
  const status = await session.status(path);
  const uidValidity = status.uidValidity;
  const plan = planFolder(mailbox.folderState[folder], status);
  if (plan.kind === 'baseline') {
    await ports.saveCursor(mailbox.id, folder, { ...plan.cursor, uidValidityChangedAt: ports.now().toISOString() });
    return { announced: 0, more: false, rebaselined: true, uidValidity };
  }
  if (plan.kind === 'unchanged') {
    if (plan.cursor.uidNext !== mailbox.folderState[folder]?.uidNext) await ports.saveCursor(mailbox.id, folder, plan.cursor);
    return { announced: 0, more: false, rebaselined: false, uidValidity };
  }
  let cursor: FolderCursor;
  let fromUid: number;
  if (plan.kind === 'start') {
    // A folder polled for the first time starts at the first message received since it is watched.
    const first = status.uidNext > 1 ? await session.firstUidSince(path, watchedSince(mailbox, folder), status.uidNext - 1) : undefined;
    cursor = startCursor(status, first);
    if (first === undefined) {
      await ports.saveCursor(mailbox.id, folder, cursor);
      return { announced: 0, more: false, rebaselined: false, uidValidity };
    }
    fromUid = cursor.lastSeenUid + 1;
  } else {
    cursor = plan.cursor;
    fromUid = plan.fromUid;
  }
  const poll: FolderPoll = {
    mailbox, folder, session, ports, options: { ...options, wantsContent: await options.wantsContent() }, toUid: status.uidNext - 1, uidNext: status.uidNext,
    target: { mailbox, path, uidValidity: cursor.uidValidity, session },
  };
  let state: RoundState = { cursor, announced: 0, contentBytes: 0 };
  while (state.announced < options.maxMessagesPerFolder) {
    const round = await announceRound(poll, state, fromUid);
    state = round.state;
    if (round.end === 'budget') return { announced: state.announced, more: true, rebaselined: false, uidValidity };
    if (round.end === 'exhausted') break;
    fromUid = state.cursor.lastSeenUid + 1;
  }
  // Every advance took the cursor's UIDNEXT to the STATUS's; a poll that stopped at the limit goes on at once.
  return { announced: state.announced, more: state.announced >= options.maxMessagesPerFolder, rebaselined: false, uidValidity };
}

/** What one folder's poll works with while it announces new mail. */
interface FolderPoll {
  mailbox: MailboxRecord;
  folder: string;
  session: MailSession;
  ports: PollerPorts;
  options: PollOptions & { wantsContent: boolean };
  /** Up to the UIDNEXT of this poll's STATUS: mail that arrives later gets a higher UID, the next poll's. */
  toUid: number;
  uidNext: number;
  target: AnnounceTarget;
}

interface RoundState {
  cursor: FolderCursor;
  announced: number;
  contentBytes: number;
}

/**
 * One UID SEARCH for what the poll may still announce, then its FETCH batches in order, each
 * announced (published) before the cursor moves past it and is saved. While a batch is published,
 * the next batch's FETCH is already under way (IMAP and Redis overlap), unless announcing the batch
 * itself uses the session (content, a delivery report): the session then stays the batch's alone.
 */
async function announceRound(
  poll: FolderPoll, start: RoundState, fromUid: number,
): Promise<{ state: RoundState; end: 'budget' | 'exhausted' | 'more' }> {
  const { mailbox, folder, session, ports, options, target } = poll;
  const path = target.path;
  const wanted = options.maxMessagesPerFolder - start.announced;
  const uids = await session.searchUids(path, fromUid, poll.toUid, wanted);
  // Fewer than asked for: the search reached toUid, and no message below it can appear any more.
  // The cursor moves there, so that mail deleted before it was announced (a rule, another
  // client) is not searched for again at every poll: the next poll is a STATUS alone.
  const exhausted = uids.length < wanted;
  const batches = planBatches(start.cursor, uids, options.batchSize);
  let { cursor, announced, contentBytes } = start;
  let fetching = batches[0] ? startFetch(session, path, cursor, batches[0]) : undefined;
  try {
    for (const [i, asked] of batches.entries()) {
      const batch = await envelopesOf(fetching!, mailbox.id, folder, ports, cursor, asked);
      const next = batches[i + 1];
      fetching = next && !usesSession(batch, ports, options.wantsContent) ? startFetch(session, path, cursor, next) : undefined;
      const done = await announceBatch(target, batch, ports, { wantsContent: options.wantsContent, contentBytesLeft: options.maxContentBytes - contentBytes });
      contentBytes += done.contentBytes;
      announced += done.count;
      if (done.count < batch.length || (options.wantsContent && contentBytes >= options.maxContentBytes)) {
        // The budget ended the batch: the cursor stays at the last message announced.
        if (done.count > 0) cursor = advance(cursor, batch[done.count - 1]!.uid, poll.uidNext);
        await ports.saveCursor(mailbox.id, folder, cursor);
        return { state: { cursor, announced, contentBytes }, end: 'budget' };
      }
      // Every UID asked for is behind the cursor now, announced or expunged meanwhile.
      cursor = advance(cursor, asked[asked.length - 1]!, poll.uidNext);
      if (!next && exhausted) cursor = advance(cursor, poll.toUid, poll.uidNext);
      await ports.saveCursor(mailbox.id, folder, cursor);
      fetching ??= next ? startFetch(session, path, cursor, next) : undefined;
    }
  } finally {
    // A poll failing midway gives its session back idle, not with a FETCH still running.
    await fetching;
  }
  if (batches.length === 0 && exhausted) {
    cursor = advance(cursor, poll.toUid, poll.uidNext);
    await ports.saveCursor(mailbox.id, folder, cursor);
  }
  return { state: { cursor, announced, contentBytes }, end: exhausted ? 'exhausted' : 'more' };
}
