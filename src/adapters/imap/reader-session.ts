/**
 * The IMAP commands the mail reading API needs, on top of an authenticated
 * session: open a folder read-only, list envelopes newest first, one
 * message's envelope or size, and one message's source as a stream.
 *
 * Reading never changes the mailbox: folders are opened with EXAMINE
 * (`readOnly`), so the server refuses any flag change, and imapflow fetches
 * bodies with BODY.PEEK, so \Seen is not set even where EXAMINE is not honoured.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { FetchMessageObject, MessageAddressObject, SearchObject } from 'imapflow';
import { AppError } from '../../errors/errors.js';
import { bodyParts, type BodyPart } from './body-structure.js';
import { IMAP_HINTS } from './errors.js';
import { BOUNDED_RESPONSES, ImapSession, type ImapSessionOptions } from './session.js';

export type { BodyPart } from './body-structure.js';

export interface EnvelopeAddress {
  name: string | null;
  address: string | null;
}

export interface MessageEnvelope {
  uid: number;
  messageId: string | null;
  subject: string | null;
  from: EnvelopeAddress[];
  to: EnvelopeAddress[];
  cc: EnvelopeAddress[];
  /** The Date header, ISO 8601; null when missing or unparseable. */
  date: string | null;
  /** RFC822.SIZE in bytes. */
  size: number | null;
  flags: string[];
  /** The server's envelope was larger than the service accepts: only the UID, size and flags are known. */
  envelopeTooLarge?: true;
}

export interface EnvelopePage {
  /** Newest (highest UID) first. */
  messages: MessageEnvelope[];
  /** Messages with a UID below the last one of this page exist. */
  more: boolean;
}

/** Hostile servers send anything: the longest text and the most addresses or flags kept per message. */
const MAX_TEXT = 998;
const MAX_NAME = 256;
const MAX_ADDRESS = 320;
const MAX_ADDRESSES = 100;
const MAX_FLAGS = 64;

function bounded(value: unknown, max: number): string | null {
  return value === undefined || value === null || value === '' ? null : String(value).slice(0, max);
}

function addresses(list: MessageAddressObject[] | undefined): EnvelopeAddress[] {
  return (list ?? [])
    .slice(0, MAX_ADDRESSES)
    .map((a) => ({ name: bounded(a.name, MAX_NAME), address: bounded(a.address, MAX_ADDRESS) }))
    .filter((a) => a.name !== null || a.address !== null);
}

/**
 * The message's flags, bounded. \Recent is left out: it belongs to one IMAP session (and EXAMINE
 * never clears it), so every read would report it; IMAP4rev2 dropped it too.
 */
function flagsOf(message: FetchMessageObject): string[] {
  return [...(message.flags ?? [])]
    .filter((flag) => flag.toLowerCase() !== '\\recent')
    .slice(0, MAX_FLAGS)
    .map((flag) => flag.slice(0, MAX_NAME));
}

function envelopeOf(message: FetchMessageObject): MessageEnvelope {
  const envelope = message.envelope;
  const parsed = envelope?.date === undefined ? undefined : new Date(envelope.date);
  return {
    uid: message.uid,
    messageId: bounded(envelope?.messageId, MAX_TEXT),
    subject: bounded(envelope?.subject, MAX_TEXT),
    from: addresses(envelope?.from),
    to: addresses(envelope?.to),
    cc: addresses(envelope?.cc),
    date: parsed && !Number.isNaN(parsed.getTime()) ? parsed.toISOString() : null,
    size: typeof message.size === 'number' ? message.size : null,
    flags: flagsOf(message),
  };
}

/** What a search matches, all of it together (AND). Strings are matched as IMAP SEARCH does: substrings, case-insensitive. */
export interface MessageSearch {
  from?: string | undefined;
  to?: string | undefined;
  subject?: string | undefined;
  /** Header and body (IMAP TEXT). */
  text?: string | undefined;
  /** Received on or after this day (YYYY-MM-DD; IMAP SINCE, day-granular). */
  since?: string | undefined;
  /** Received before this day (YYYY-MM-DD; IMAP BEFORE, day-granular, exclusive). */
  before?: string | undefined;
  seen?: boolean | undefined;
  flagged?: boolean | undefined;
}

/** A message's size, flags and the parts that are not multipart (from BODYSTRUCTURE). */
export interface MessageStructure {
  size: number;
  flags: string[];
  parts: BodyPart[];
}

export interface PartDownload {
  /** The decoded part (transfer encoding undone, bytes otherwise as stored); the session stays busy until it ends. */
  content: Readable;
  /** From the part's own MIME header, decoded (RFC 2231, encoded words), when it has them. */
  contentType: string | undefined;
  filename: string | undefined;
}

/**
 * Messages searched per UID SEARCH, by sequence number from the newest down. One answer holds at
 * most this many UIDs (about 200 KB), whatever the folder's size: a search over a whole folder of a
 * million messages would be one 7 MB line, over the session's response bounds.
 */
export const SEARCH_WINDOW = 20_000;

/**
 * A download whose server completes no chunk (a 64 KiB partial FETCH) for this long while the
 * consumer waits for bytes fails: imapflow's socket timeout never fires against a server that
 * trickles a byte a second.
 */
export const DOWNLOAD_STALL_MS = 30_000;

function searchQuery(search: MessageSearch): SearchObject {
  const query: SearchObject = {};
  if (search.from !== undefined) query.from = search.from;
  if (search.to !== undefined) query.to = search.to;
  if (search.subject !== undefined) query.subject = search.subject;
  if (search.text !== undefined) query.text = search.text;
  // imapflow writes the UTC day of a Date: midnight UTC is that day.
  if (search.since !== undefined) query.since = new Date(`${search.since}T00:00:00.000Z`);
  if (search.before !== undefined) query.before = new Date(`${search.before}T00:00:00.000Z`);
  if (search.seen !== undefined) query.seen = search.seen;
  if (search.flagged !== undefined) query.flagged = search.flagged;
  return query;
}

export interface OpenedFolder {
  path: string;
  /** UIDVALIDITY is a 32-bit unsigned number: safe as a JS number. */
  uidValidity: number;
}

export class ReaderSession extends ImapSession {
  private opened: OpenedFolder | undefined;

  /** Opens a folder by its path with EXAMINE (read-only); a no-op when it is already open. */
  async examine(path: string): Promise<OpenedFolder> {
    if (this.opened?.path === path) return this.opened;
    const mailbox = await this.run(`EXAMINE ${path}`, (client) => client.mailboxOpen(path, { readOnly: true }));
    this.opened = { path, uidValidity: Number(mailbox.uidValidity) };
    return this.opened;
  }

  /**
   * Up to `limit` envelopes of the open folder, newest first, only UIDs below `beforeUid` when given.
   *
   * Sequence numbers run in UID order, so the newest messages are the top of the sequence range:
   * no search over the whole folder. Below a cursor, the messages with UID >= beforeUid are counted
   * (UID SEARCH, whose answer is as long as the pages already read, not the folder) and the page is
   * the sequence range just under them. Exchange has no ESEARCH (RFC 4731) to count without listing.
   * A message expunged by another client between the two commands shifts the range by one: the page
   * is then one short or holds one message at or above the cursor, which is dropped; the cursor stays
   * a UID, so the next page neither skips nor repeats a message.
   */
  async listNewest(path: string, limit: number, beforeUid: number | undefined, options: { envelopes: boolean } = { envelopes: true }): Promise<EnvelopePage> {
    await this.examine(path);
    return this.run(`FETCH ${path}`, async (client) => {
      let above = 0;
      if (beforeUid !== undefined) {
        // `n:*` always includes the highest message even when its UID is below n (RFC 3501): filter.
        const uids = await client.search({ uid: `${beforeUid}:*` }, { uid: true });
        // imapflow answers false for a refused SEARCH: read as "none above", it would serve the first page again.
        if (!Array.isArray(uids)) throw this.translate({ responseText: 'the server refused UID SEARCH', path }, `SEARCH ${path}`);
        above = uids.filter((uid) => uid >= beforeUid).length;
      }
      // Read after the search: EXISTS updates that arrived meanwhile are counted on both sides.
      const exists = client.mailbox ? client.mailbox.exists : 0;
      const top = exists - above;
      if (top <= 0) return { messages: [], more: false };
      const bottom = Math.max(1, top - limit + 1);
      const messages: MessageEnvelope[] = [];
      // Without envelopes (a page that holds a message whose envelope is too large): UID, size and flags.
      for await (const message of client.fetch(`${bottom}:${top}`, { uid: true, envelope: options.envelopes, flags: true, size: true })) {
        if (beforeUid === undefined || message.uid < beforeUid) messages.push(options.envelopes ? envelopeOf(message) : { ...envelopeOf(message), envelopeTooLarge: true });
      }
      messages.sort((a, b) => b.uid - a.uid);
      return { messages: messages.slice(0, limit), more: bottom > 1 };
    });
  }

  /** One message's envelope, by UID; undefined when the folder has no such message. */
  async envelope(path: string, uid: number): Promise<MessageEnvelope | undefined> {
    await this.examine(path);
    const message = await this.run(`FETCH ${path} ${uid}`, (client) => client.fetchOne(String(uid), { uid: true, envelope: true, flags: true, size: true }, { uid: true }));
    return message && message.uid === uid ? envelopeOf(message) : undefined;
  }

  /** RFC822.SIZE and flags of one message, by UID; undefined when the folder has no such message. */
  async messageInfo(path: string, uid: number): Promise<{ size: number; flags: string[] } | undefined> {
    await this.examine(path);
    const message = await this.run(`FETCH ${path} ${uid}`, (client) => client.fetchOne(String(uid), { uid: true, size: true, flags: true }, { uid: true }));
    if (!message || message.uid !== uid) return undefined;
    return {
      size: typeof message.size === 'number' ? message.size : 0,
      flags: flagsOf(message),
    };
  }

  /**
   * Up to `limit` envelopes of the open folder's messages that match `search`, newest first, only
   * UIDs below `beforeUid` when given.
   *
   * UID SEARCH runs over windows of SEARCH_WINDOW sequence numbers from the newest down, until more
   * than `limit` messages matched or the folder's start is reached: one command for a folder of up
   * to SEARCH_WINDOW messages, and an answer bounded by the window for any folder. Then one UID FETCH
   * of the envelopes of the `limit` highest UIDs only. An expunge between two windows shifts older
   * messages down by one: one may be searched twice (counted once), none is skipped.
   */
  async searchNewest(
    path: string, search: MessageSearch, limit: number, beforeUid: number | undefined, options: { envelopes: boolean } = { envelopes: true },
  ): Promise<EnvelopePage> {
    await this.examine(path);
    if (beforeUid === 1) return { messages: [], more: false };
    return this.run(`SEARCH ${path}`, async (client) => {
      const query = searchQuery(search);
      if (beforeUid !== undefined) query.uid = `1:${beforeUid - 1}`;
      const matches = new Set<number>();
      let top = client.mailbox ? client.mailbox.exists : 0;
      while (top >= 1 && matches.size <= limit) {
        const bottom = Math.max(1, top - SEARCH_WINDOW + 1);
        const uids = await client.search({ ...query, seq: `${bottom}:${top}` }, { uid: true });
        // imapflow answers false for a refused SEARCH: read as "no match", it would hide the refusal.
        if (!Array.isArray(uids)) throw this.translate({ responseText: 'the server refused UID SEARCH', path }, `SEARCH ${path}`);
        // A hostile answer may hold anything: only UIDs, only below the cursor.
        for (const uid of uids) {
          if (Number.isInteger(uid) && uid >= 1 && uid <= 4_294_967_295 && (beforeUid === undefined || uid < beforeUid)) matches.add(uid);
        }
        top = bottom - 1;
      }
      const page = [...matches].sort((a, b) => b - a).slice(0, limit);
      const more = matches.size > limit;
      if (page.length === 0) return { messages: [], more };
      const messages: MessageEnvelope[] = [];
      const wanted = new Set(page);
      for await (const message of client.fetch(page.join(','), { uid: true, envelope: options.envelopes, flags: true, size: true }, { uid: true })) {
        if (!wanted.delete(message.uid)) continue; // not asked for, or answered twice
        messages.push(options.envelopes ? envelopeOf(message) : { ...envelopeOf(message), envelopeTooLarge: true });
      }
      messages.sort((a, b) => b.uid - a.uid);
      return { messages, more };
    });
  }

  /** RFC822.SIZE, flags and the parts of one message (BODYSTRUCTURE), by UID; undefined when there is no such message. */
  async structure(path: string, uid: number): Promise<MessageStructure | undefined> {
    await this.examine(path);
    const message = await this.run(`FETCH ${path} ${uid} BODYSTRUCTURE`, (client) =>
      client.fetchOne(String(uid), { uid: true, size: true, flags: true, bodyStructure: true }, { uid: true }));
    if (!message || message.uid !== uid) return undefined;
    return { size: typeof message.size === 'number' ? message.size : 0, flags: flagsOf(message), parts: bodyParts(message.bodyStructure) };
  }

  /**
   * The message's source (BODY.PEEK[]) as a stream, fetched in chunks as the consumer reads, so
   * memory stays at about one chunk however large the message. Destroying the stream stops the
   * download. imapflow fails the stream (DownloadOverflow) when the server sends far more than the
   * RFC822.SIZE it announced. Undefined when there is no such message.
   */
  async download(path: string, uid: number): Promise<Readable | undefined> {
    await this.examine(path);
    const operation = `FETCH ${path} ${uid} BODY.PEEK[]`;
    const download = await this.stallBounded(operation, this.run(operation, (client) => client.download(String(uid), undefined, { uid: true })));
    if (!download.content) return undefined;
    return this.guarded(download.content, operation, Infinity);
  }

  /**
   * One body part (BODY.PEEK[<part>]), its transfer encoding undone on the way (base64,
   * quoted-printable), text left in its own charset: the bytes the sender attached. Fetched in
   * 64 KiB chunks as the consumer reads. The stream fails past `maxBytes` (the part's size as the
   * server described it: a server that sends more is not believed) and when the server stalls.
   * Undefined when the message or the part is not there.
   */
  async downloadPart(path: string, uid: number, part: string, maxBytes: number): Promise<PartDownload | undefined> {
    await this.examine(path);
    const operation = `FETCH ${path} ${uid} BODY.PEEK[${part}]`;
    const download = await this.stallBounded(operation, this.run(operation, (client) => client.download(String(uid), part, { uid: true, decodeText: false })));
    if (!download.content) return undefined;
    return {
      content: this.guarded(download.content, operation, maxBytes),
      contentType: download.meta?.contentType,
      filename: typeof download.meta?.filename === 'string' ? download.meta.filename : undefined,
    };
  }

  /** Why a stalled download was ended (the session is closed then, so its command fails without saying). */
  private stalled: AppError | undefined;

  private stallError(operation: string): AppError {
    this.stalled ??= new AppError(
      'imap_unreachable',
      `The IMAP server ${this.context.host}:${this.context.port} delivered no chunk of the download within ${DOWNLOAD_STALL_MS / 1000} s (${operation}).`,
      { hint: IMAP_HINTS.unreachable, step: 'network' },
    );
    return this.stalled;
  }

  /** The first chunk of a download, within DOWNLOAD_STALL_MS: past it the session is closed, which fails the command. */
  private async stallBounded<T>(operation: string, pending: Promise<T>): Promise<T> {
    const timer = setTimeout(() => {
      this.stallError(operation);
      this.close();
    }, DOWNLOAD_STALL_MS);
    try {
      return await pending;
    } catch (err) {
      throw this.stalled ?? err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The download as the consumer reads it. Its failures are translated like the commands' (a
   * failure after the first bytes reaches the consumer on the stream, logged with a code); it
   * fails when more than `maxBytes` arrive, and when the server sends nothing for DOWNLOAD_STALL_MS
   * while the consumer waits for bytes (time the consumer itself takes is not counted).
   */
  private guarded(source: Readable, operation: string, maxBytes: number): Readable {
    const out = new PassThrough();
    let timer: NodeJS.Timeout | undefined;
    let received = 0;
    const stop = (): void => clearTimeout(timer);
    const arm = (): void => {
      stop();
      timer = setTimeout(() => {
        out.destroy(this.stallError(operation));
        this.close();
      }, DOWNLOAD_STALL_MS);
    };
    source.on('error', (err: unknown) => out.destroy(this.translate(err, operation)));
    source.pipe(out);
    // After pipe(): the chunk is written to `out` before this listener looks at its buffer.
    source.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        out.destroy(new AppError('imap_error', `The IMAP server sent more than the ${maxBytes} bytes it described for ${operation}.`, {
          hint: 'The server answered with more data than the message structure it gave: retry later, or read the message with another IMAP client.',
          fields: { maxBytes },
        }));
        return;
      }
      // Waiting for the consumer to read (it is slow, or the HTTP client is): not the server's time.
      if (out.writableNeedDrain) stop();
      else arm();
    });
    out.on('drain', arm);
    out.on('close', () => {
      stop();
      source.destroy();
    });
    arm();
    return out;
  }
}

export function createReaderSession(options: ImapSessionOptions): ReaderSession {
  // Message sources arrive in imapflow's 64 KiB partial fetches, well within the bounds.
  return new ReaderSession({ limits: BOUNDED_RESPONSES, ...options });
}
