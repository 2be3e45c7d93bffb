/**
 * The IMAP commands a poll needs, on top of an authenticated session:
 * STATUS (inherited), folder resolution by special use, fetching the
 * envelopes of a range of UIDs, a message's source for the consumers that
 * want its content, and IDLE notifications of new mail.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { FetchMessageObject, ImapFlow, MessageAddressObject } from 'imapflow';
import type { MessageSummary } from '../../domain/events/events.js';
import { BOUNDED_RESPONSES, ImapSession, type ImapFolder, type ImapSessionOptions } from './session.js';

/** A poll announces envelopes in the shape the message.received event carries. */
export type EnvelopeSummary = MessageSummary;

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
  };
}

export class PollSession extends ImapSession {
  private folders: ImapFolder[] | undefined;
  private selected: string | undefined;

  /**
   * STATUS of a folder. On the folder this session has selected, a server may
   * answer STATUS from the session's own (stale) view: Dovecot does, and
   * RFC 3501 warns against it. A NOOP first brings that view up to date.
   */
  override async status(path: string): ReturnType<ImapSession['status']> {
    if (this.selected === path) await this.run(`NOOP ${path}`, (client) => client.noop());
    return super.status(path);
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
      for await (const message of client.fetch([...wanted], { uid: true, envelope, size: true }, { uid: true })) {
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

  private async select(client: ImapFlow, path: string): Promise<void> {
    if (this.selected === path) return;
    await client.mailboxOpen(path, { readOnly: true });
    this.selected = path;
  }

  private newMail: (() => void) | undefined;

  /** Calls `listener` (the last one given) when the server reports new mail in the selected folder. */
  onNewMail(listener: () => void): void {
    if (!this.newMail) this.client.on('exists', () => this.newMail?.());
    this.newMail = listener;
  }

  /** Selects a folder and starts IDLE on it (imapflow keeps idling between commands). */
  async idleOn(path: string): Promise<void> {
    await this.run(`IDLE ${path}`, async (client) => {
      await this.select(client, path);
      void client.idle().catch(() => undefined);
    });
  }
}

export function createPollSession(options: ImapSessionOptions): PollSession {
  return new PollSession({ limits: BOUNDED_RESPONSES, ...options });
}
