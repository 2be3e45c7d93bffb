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
import type { FetchMessageObject, MessageAddressObject } from 'imapflow';
import { BOUNDED_RESPONSES, ImapSession, type ImapSessionOptions } from './session.js';

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
   * The message's source (BODY.PEEK[]) as a stream, fetched in chunks as the consumer reads, so
   * memory stays at about one chunk however large the message. Destroying the stream stops the
   * download. imapflow fails the stream (DownloadOverflow) when the server sends far more than the
   * RFC822.SIZE it announced. Undefined when there is no such message.
   */
  async download(path: string, uid: number): Promise<Readable | undefined> {
    await this.examine(path);
    const operation = `FETCH ${path} ${uid} BODY.PEEK[]`;
    const download = await this.run(operation, (client) => client.download(String(uid), undefined, { uid: true }));
    if (!download.content) return undefined;
    // A failure after the first chunk reaches the consumer on the stream: translated like the
    // commands' failures, so it is logged with a code (the HTTP response is already under way).
    const source = download.content;
    const out = new PassThrough();
    source.on('error', (err: unknown) => out.destroy(this.translate(err, operation)));
    out.on('close', () => source.destroy());
    return source.pipe(out);
  }
}

export function createReaderSession(options: ImapSessionOptions): ReaderSession {
  // Message sources arrive in imapflow's 64 KiB partial fetches, well within the bounds.
  return new ReaderSession({ limits: BOUNDED_RESPONSES, ...options });
}
