/**
 * The IMAP commands a poll needs, on top of an authenticated session:
 * STATUS (inherited), folder resolution by special use, fetching the
 * envelopes of a range of UIDs, a message's source for the consumers that
 * want its content, and IDLE notifications of new mail.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { FetchMessageObject, ImapFlow, MessageAddressObject } from 'imapflow';
import type { MessageSummary } from '../../domain/events/events.js';
import type { MailActivity } from '../../domain/polling/ports.js';
import type { ObservedFlags, WindowSearch } from '../../domain/polling/tracking.js';
import { AppError } from '../../errors/errors.js';
import { uidSet } from './action-session.js';
import { BOUNDED_RESPONSES, ImapSession, type ImapFolder, type ImapSessionOptions } from './session.js';

/** A poll announces envelopes in the shape the message.received event carries. */
/** What a poll fetches of a new message: its envelope, size and Content-Type (a delivery report is a bounce). */
export type EnvelopeSummary = MessageSummary & { contentType?: string | null };

/** UIDs one UID SEARCH asks about: its answer holds at most this many numbers. */
const SEARCH_WINDOW = 10_000;

/** INTERNALDATEs asked for per FETCH when looking for where a new watch starts. */
const DATE_BATCH = 500;

/** A day: SEARCH SINCE compares dates only, in the server's time zone. */
const DAY_MS = 86_400_000;

/**
 * Bytes asked for per partial FETCH of a message's source: few round trips for a large message,
 * and well within the session's literal limit (BOUNDED_RESPONSES.maxLiteralSize, 1 MiB).
 */
const DOWNLOAD_CHUNK = 256 * 1024;

/** Longest subject or address list kept in an event; hostile servers send anything. */
const MAX_TEXT = 998;
const MAX_ADDRESSES = 100;

/**
 * Flags kept per message of a tracked window, and their length: a hostile server may send
 * thousands of keywords of any size; a real Exchange message has a handful.
 */
const MAX_FLAGS = 50;
const MAX_FLAG_LENGTH = 100;

/** Longest Message-ID kept in a tracked window; a longer one is kept as none (null). */
const MAX_MESSAGE_ID = 255;

/**
 * FETCH answers of a window's flags read beyond the `max` kept before the connection is dropped: a
 * server answers the messages asked about and, unsolicited, a few flag changes of others. Dropped
 * answers still cost reading them: a million would take a poll's deadline, at every poll.
 */
const MAX_UNASKED_ANSWERS = 10_000;

/** The largest tracked window (the API's maximum). */
const MAX_WINDOW = 10_000;

/** UIDs per FETCH of Message-ID headers. */
const HEADER_BATCH = 1_000;

export function boundedFlags(flags: Iterable<unknown> | undefined): string[] {
  const out: string[] = [];
  for (const flag of flags ?? []) {
    if (out.length >= MAX_FLAGS) break;
    if (typeof flag !== 'string' || flag.length === 0 || flag.length > MAX_FLAG_LENGTH || flag.toLowerCase() === '\\recent') continue;
    out.push(flag);
  }
  return out;
}

/** The Message-ID in a `BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]` answer, unfolded; null when absent or too long. */
export function messageIdOf(headers: Buffer | undefined): string | null {
  if (!headers) return null;
  const match = /^message-id:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)/im.exec(headers.subarray(0, 4096).toString('utf8'));
  const id = match?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim();
  return id && id.length <= MAX_MESSAGE_ID ? id : null;
}

function addresses(list: MessageAddressObject[] | undefined): string[] {
  return (list ?? [])
    .slice(0, MAX_ADDRESSES)
    .map((a) => (a.address ?? '').slice(0, 320))
    .filter((a) => a !== '');
}

function text(value: string | undefined): string | null {
  return value === undefined || value === null ? null : String(value).slice(0, MAX_TEXT);
}

function summary(message: FetchMessageObject): EnvelopeSummary {
  const envelope = message.envelope;
  const date = envelope?.date instanceof Date && !Number.isNaN(envelope.date.getTime()) ? envelope.date.toISOString() : null;
  return {
    uid: message.uid,
    messageId: text(envelope?.messageId),
    subject: text(envelope?.subject),
    from: addresses(envelope?.from),
    to: addresses(envelope?.to),
    cc: addresses(envelope?.cc),
    date,
    size: typeof message.size === 'number' ? message.size : null,
    ...(message.headers ? { contentType: headerValue(message.headers, 'content-type', MAX_CONTENT_TYPE) } : {}),
  };
}

/** Longest Content-Type kept (a report's is under 100 characters). */
const MAX_CONTENT_TYPE = 1_000;

/** One header's value (unfolded, cut to `max`) from a HEADER.FIELDS answer; null when absent. */
function headerValue(headers: Buffer, name: string, max: number): string | null {
  const text = headers.subarray(0, 16 * 1024).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const line = text.split(/\r?\n/).find((l) => l.slice(0, name.length + 1).toLowerCase() === `${name}:`);
  return line === undefined ? null : line.slice(name.length + 1).trim().slice(0, max);
}

export class PollSession extends ImapSession {
  private folders: ImapFolder[] | undefined;
  private selected: string | undefined;
  /** A folder selected here stays selected between polls: the session idles on it, or follows its changes. */
  private keepSelected = false;

  /**
   * STATUS of a folder. On the folder this session has selected, a server may
   * answer STATUS from the session's own (stale) view: Dovecot does, and
   * RFC 3501 warns against it. A session that keeps the folder selected (it
   * idles on it, or follows its changes, which select it at every poll) sends
   * a NOOP first, which brings that view up to date. One that selected it only
   * to fetch new mail closes it instead (CLOSE of a folder opened read-only
   * removes nothing): the same two commands once, and every later poll of the
   * kept session is a STATUS alone instead of a NOOP and a STATUS (issue 19).
   */
  override async status(path: string): ReturnType<ImapSession['status']> {
    if (this.selected === path) {
      if (this.keepSelected) await this.run(`NOOP ${path}`, (client) => client.noop());
      else await this.unselect(path);
    }
    return super.status(path);
  }

  /** Closes the selected folder (CLOSE: it was opened read-only); a NOOP when the server refuses. */
  private async unselect(path: string): Promise<void> {
    const closed = await this.run(`CLOSE ${path}`, (client) => client.mailboxClose());
    if (closed) this.selected = undefined;
    else await this.run(`NOOP ${path}`, (client) => client.noop());
  }

  /** The path of a folder given by name (`INBOX`, `Archive/2024`) or special use (`\Sent`). */
  async resolveFolder(nameOrUse: string): Promise<string | undefined> {
    if (nameOrUse.toUpperCase() === 'INBOX') return 'INBOX';
    this.folders ??= await this.listFolders();
    if (nameOrUse.startsWith('\\')) {
      return this.folders.find((f) => f.specialUse?.toLowerCase() === nameOrUse.toLowerCase())?.path;
    }
    return this.folders.find((f) => f.path === nameOrUse)?.path;
  }

  /**
   * The first `limit` UIDs from `fromUid` to `toUid`, ascending, by UID SEARCH over windows of
   * SEARCH_WINDOW UIDs (so an answer stays small whatever the backlog). Fetching the envelopes of
   * `fromUid:*` per batch, as polls did before, sent every envelope above `fromUid` each time: a
   * backlog of n messages announced b at a time cost about n²/2b envelopes.
   */
  async searchUids(path: string, fromUid: number, toUid: number, limit: number): Promise<number[]> {
    return this.run(`SEARCH ${path}`, async (client) => {
      await this.select(client, path);
      const uids: number[] = [];
      for (let low = fromUid; low <= toUid && uids.length < limit; low += SEARCH_WINDOW) {
        const high = Math.min(toUid, low + SEARCH_WINDOW - 1);
        const found = await client.search({ uid: `${low}:${high}` }, { uid: true });
        // The server's answer is not trusted to stay in the range, be sorted or be unique.
        if (found) uids.push(...[...new Set(found)].filter((uid) => uid >= low && uid <= high).sort((a, b) => a - b));
      }
      return uids.slice(0, limit);
    });
  }

  /**
   * The lowest UID up to `toUid` of a message the server received (INTERNALDATE) at or after
   * `since`, to the second; undefined when there is none. A SEARCH SINCE the day before narrows it
   * down first, newest window of UIDs first: UIDs are given as mail arrives, so the first window
   * holding nothing of that day ends the search. Then the INTERNALDATEs of the candidates are
   * compared, oldest first. A message without a readable INTERNALDATE does not count.
   */
  async firstUidSince(path: string, since: Date, toUid: number): Promise<number | undefined> {
    return this.run(`SEARCH ${path}`, async (client) => {
      await this.select(client, path);
      const dayBefore = new Date(since.getTime() - DAY_MS);
      const candidates: number[] = [];
      for (let high = toUid; high >= 1; high -= SEARCH_WINDOW) {
        const low = Math.max(1, high - SEARCH_WINDOW + 1);
        const found = (await client.search({ since: dayBefore, uid: `${low}:${high}` }, { uid: true })) || [];
        const inWindow = [...new Set(found)].filter((uid) => uid >= low && uid <= high);
        if (inWindow.length === 0) break;
        candidates.push(...inWindow);
      }
      candidates.sort((a, b) => a - b);
      const threshold = Math.floor(since.getTime() / 1000) * 1000;
      for (let i = 0; i < candidates.length; i += DATE_BATCH) {
        const batch = candidates.slice(i, i + DATE_BATCH);
        const wanted = new Set(batch);
        let first: number | undefined;
        for await (const message of client.fetch(batch, { uid: true, internalDate: true }, { uid: true })) {
          const at = message.internalDate === undefined ? Number.NaN : new Date(message.internalDate).getTime();
          if (wanted.has(message.uid) && at >= threshold && (first === undefined || message.uid < first)) first = message.uid;
        }
        if (first !== undefined) return first;
      }
      return undefined;
    });
  }

  /** The envelopes of these UIDs, ascending; a UID expunged meanwhile (or not parsed) is missing. */
  async fetchEnvelopes(path: string, uids: readonly number[]): Promise<EnvelopeSummary[]> {
    return this.fetchOf(path, uids, true);
  }

  /** Only the UIDs and sizes: for a message whose envelope is larger than the session accepts. */
  async fetchSizes(path: string, uids: readonly number[]): Promise<EnvelopeSummary[]> {
    return this.fetchOf(path, uids, false);
  }

  private async fetchOf(path: string, uids: readonly number[], envelope: boolean): Promise<EnvelopeSummary[]> {
    if (uids.length === 0) return [];
    return this.run(`FETCH ${path}`, async (client) => {
      await this.select(client, path);
      const wanted = new Set(uids);
      const out: EnvelopeSummary[] = [];
      const query = envelope ? { uid: true, envelope, size: true, headers: ['content-type'] } : { uid: true, size: true };
      for await (const message of client.fetch([...wanted], query, { uid: true })) {
        if (wanted.delete(message.uid)) out.push(envelope ? summary(message) : { ...summary(message), envelopeTooLarge: true });
      }
      return out.sort((a, b) => a.uid - b.uid);
    });
  }

  /**
   * A message's source (BODY.PEEK[]: \Seen is left alone), at most `maxBytes`, in partial FETCHes of
   * DOWNLOAD_CHUNK as the consumer reads; undefined when the message is gone. Read the stream to its
   * end (or destroy it) before the next command: the session is busy until then.
   */
  async download(path: string, uid: number, maxBytes: number): Promise<Readable | undefined> {
    const operation = `FETCH ${path} ${uid} BODY.PEEK[]`;
    const download = await this.run(operation, async (client) => {
      await this.select(client, path);
      return client.download(String(uid), undefined, { uid: true, maxBytes, chunkSize: DOWNLOAD_CHUNK });
    });
    const source = download.content;
    if (!source) return undefined;
    // A failure midway reaches the reader on the stream as an AppError, translated like the
    // commands' failures (the parser tells its own errors from the transport's by that).
    const out = new PassThrough();
    source.on('error', (err: unknown) => out.destroy(this.translate(err, operation)));
    out.on('close', () => source.destroy());
    return source.pipe(out);
  }

  /** Selects `path` (read-only) unless it is; `keep`: the folder stays selected between polls (IDLE, tracking). */
  private async select(client: ImapFlow, path: string, keep = false): Promise<void> {
    this.keepSelected ||= keep;
    if (this.selected === path) return;
    await client.mailboxOpen(path, { readOnly: true });
    this.selected = path;
  }

  /**
   * The flags of the newest `count` messages (`FETCH <exists-count+1>:* (UID FLAGS)`), for a
   * tracked window. Answers for sequence numbers not asked about (below the window, or past the
   * folder's EXISTS: no message has them) are dropped, and all but the first for a sequence number
   * or a UID; past `max` answers the rest are read and dropped, so a server cannot grow the window,
   * and past MAX_UNASKED_ANSWERS more the connection is dropped.
   */
  async fetchNewestFlags(path: string, count: number, max: number): Promise<ObservedFlags[]> {
    return this.run(`FETCH ${path} FLAGS`, async (client) => {
      await this.select(client, path, true);
      const exists = client.mailbox ? client.mailbox.exists : 0;
      if (!exists || count < 1) return [];
      const from = Math.max(1, exists - count + 1);
      const out: ObservedFlags[] = [];
      const answered = new Set<string>();
      let read = 0;
      for await (const message of client.fetch(`${from}:*`, { uid: true, flags: true })) {
        if (++read > max + MAX_UNASKED_ANSWERS) throw this.tooManyAnswers(`FETCH ${from}:* FLAGS`, max);
        // EXISTS as of this answer: mail arriving during the FETCH is announced (EXISTS) before its answer.
        const last = client.mailbox ? client.mailbox.exists : exists;
        if (out.length >= max || !(message.seq >= from && message.seq <= last) || !validUid(message.uid)) continue;
        if (answered.has(`s${message.seq}`) || answered.has(`u${message.uid}`)) continue;
        answered.add(`s${message.seq}`).add(`u${message.uid}`);
        out.push({ uid: message.uid, flags: boundedFlags(message.flags) });
      }
      return out;
    });
  }

  /**
   * The cheap look at a tracked window (domain/polling/track-folder.ts): four `UID SEARCH UID
   * <low>:*` (all, UNSEEN, FLAGGED, ANSWERED). UIDs below `low`, not numbers or repeated are dropped;
   * an answer of more than MAX_UNASKED_ANSWERS + the window's largest size drops the connection.
   */
  async searchWindow(path: string, low: number): Promise<WindowSearch> {
    return this.run(`SEARCH ${path} window`, async (client) => {
      await this.select(client, path, true);
      const search = async (criteria: Record<string, unknown>): Promise<number[]> => {
        const found = (await client.search({ ...criteria, uid: `${low}:*` }, { uid: true })) || [];
        if (found.length > MAX_WINDOW + MAX_UNASKED_ANSWERS) throw this.tooManyAnswers(`UID SEARCH UID ${low}:*`, MAX_WINDOW);
        return [...new Set(found)].filter((uid) => validUid(uid) && uid >= low);
      };
      return { all: await search({}), unseen: await search({ seen: false }), flagged: await search({ flagged: true }), answered: await search({ answered: true }) };
    });
  }

  /**
   * The flags of the messages with UIDs `fromUid` to `toUid`; answers for other UIDs are dropped, and
   * past `max`; past MAX_UNASKED_ANSWERS more the connection is dropped.
   */
  async fetchFlagsBetween(path: string, fromUid: number, toUid: number, max: number): Promise<ObservedFlags[]> {
    if (toUid < fromUid) return [];
    return this.run(`FETCH ${path} FLAGS`, async (client) => {
      await this.select(client, path, true);
      const out: ObservedFlags[] = [];
      let read = 0;
      for await (const message of client.fetch(`${fromUid}:${toUid}`, { uid: true, flags: true }, { uid: true })) {
        if (++read > max + MAX_UNASKED_ANSWERS) throw this.tooManyAnswers(`UID FETCH ${fromUid}:${toUid} FLAGS`, max);
        if (out.length >= max || !(message.uid >= fromUid && message.uid <= toUid)) continue;
        out.push({ uid: message.uid, flags: boundedFlags(message.flags) });
      }
      return out;
    });
  }

  /** The connection dropped (the rest of the answer is not read) and why. */
  private tooManyAnswers(command: string, max: number): AppError {
    this.close();
    return new AppError('imap_error', `${this.context.host}:${this.context.port} answered ${command} with more than ${max + MAX_UNASKED_ANSWERS} messages, for at most ${max} asked about; the connection was dropped.`, {
      hint: 'No IMAP server answers a tracked window with that many messages: check the mailbox\'s IMAP host.',
    });
  }

  /**
   * The Message-ID of each of these UIDs (BODY.PEEK: \Seen is left alone); a UID the server does not
   * answer for is missing; past MAX_UNASKED_ANSWERS answers more than asked the connection is dropped.
   */
  async fetchMessageIds(path: string, uids: readonly number[]): Promise<Map<number, string | null>> {
    const out = new Map<number, string | null>();
    if (uids.length === 0) return out;
    return this.run(`FETCH ${path} MESSAGE-ID`, async (client) => {
      await this.select(client, path, true);
      const sorted = [...new Set(uids)].sort((a, b) => a - b);
      for (let i = 0; i < sorted.length; i += HEADER_BATCH) {
        const batch = sorted.slice(i, i + HEADER_BATCH);
        const wanted = new Set(batch);
        let read = 0;
        for await (const message of client.fetch(uidSet(batch), { uid: true, headers: ['message-id'] }, { uid: true })) {
          if (++read > batch.length + MAX_UNASKED_ANSWERS) throw this.tooManyAnswers('UID FETCH MESSAGE-ID', batch.length);
          if (wanted.delete(message.uid)) out.set(message.uid, messageIdOf(message.headers));
        }
      }
      return out;
    });
  }

  private activity: { path: string; listener: (kind: MailActivity) => void } | undefined;

  /**
   * Calls `listener` (the last one given) when the server reports, unasked, a change in `path` while
   * it is selected: new mail (EXISTS), a message gone (EXPUNGE, VANISHED) or flags changed (an
   * unsolicited FETCH). Also while a poll's own commands run: an EXISTS in the answer to its SEARCH
   * is mail that came after its STATUS (the poll does not announce it; cycle.ts polls again). Not
   * for another folder the poll selected meanwhile (its new mail is that poll's).
   */
  onActivity(path: string, listener: (kind: MailActivity) => void): void {
    if (!this.activity) {
      const report = (kind: MailActivity) => (event: { path?: unknown } | undefined) => {
        if (this.activity && event?.path === this.activity.path) this.activity.listener(kind);
      };
      this.client.on('exists', report('mail'));
      this.client.on('expunge', report('change'));
      this.client.on('flags', report('change'));
    }
    this.activity = { path, listener };
  }

  /**
   * Selects a folder and starts IDLE on it (imapflow keeps idling between commands). `uidNext` is the
   * folder's UIDNEXT as the last poll saw it (STATUS): when this SELECT is the session's first of the
   * folder (a new session, as after a token renewal), mail that came between that STATUS and the
   * SELECT is counted in the SELECT's answer, which reports no EXISTS event; a higher UIDNEXT then
   * reports it as new mail. A session that has the folder selected already heard of it as EXISTS.
   */
  async idleOn(path: string, uidNext?: number): Promise<void> {
    await this.run(`IDLE ${path}`, async (client) => {
      const selecting = this.selected !== path;
      await this.select(client, path, true);
      const now = client.mailbox ? Number(client.mailbox.uidNext) : 0;
      if (selecting && uidNext !== undefined && now > uidNext && this.activity?.path === path) this.activity.listener('mail');
      void client.idle().catch(() => undefined);
    });
  }
}

const validUid = (uid: unknown): uid is number => typeof uid === 'number' && Number.isInteger(uid) && uid > 0 && uid <= 4_294_967_295;

/** A poll session: bounded like reading, and without COMPRESS, as it is kept for as long as its token lives (see ImapSessionOptions.compress). */
export function createPollSession(options: ImapSessionOptions): PollSession {
  return new PollSession({ limits: BOUNDED_RESPONSES, compress: false, ...options });
}
