/**
 * Parses one RFC 5322 message with mailparser (the only code that imports
 * it) into plain data with every part bounded: hostile mail can carry
 * thousands of headers, megabyte-long header lines and bytes that are not
 * UTF-8. Attachment bodies are hashed and measured, then dropped; each keeps
 * its IMAP part number (`id`), which downloads it alone.
 *
 * What is kept as stored and what is decoded:
 * - `headers`: the top-level header lines in order, unfolded, bytes read as
 *   UTF-8; encoded words (`=?utf-8?B?…?=`) are left as they are. The decoded
 *   subject, addresses and dates are separate fields.
 * - `html`: the text/html parts as the sender wrote them (cid: links kept,
 *   nothing sanitized). Rendering it is the client's business, after sanitizing.
 * - `text`: the text/plain parts only; HTML is not converted to text.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { simpleParser, type AddressObject, type EmailAddress, type ParsedMail } from 'mailparser';
import { AppError } from '../../errors/errors.js';

export interface ParseLimits {
  /** Bytes of source read at most; more fail with `message_too_large`. */
  maxBytes: number;
}

export interface ParsedAddress {
  name: string | null;
  address: string | null;
}

export interface ParsedHeader {
  name: string;
  value: string;
}

export interface ParsedAttachment {
  /**
   * The IMAP part number ("2", "1.2"), as mailparser (mailsplit) numbers the parts of the tree it
   * read: what GET …/attachments/{id} downloads. A message that is not multipart is part "1".
   */
  id: string;
  filename: string | null;
  contentType: string;
  /** Decoded size in bytes. */
  size: number;
  /** Content-ID without angle brackets (what `cid:` URLs name), or null. */
  contentId: string | null;
  /** SHA-256 of the decoded content, hex. */
  checksum: string;
  /** `attachment`, `inline`, or null when the part gave no Content-Disposition. */
  disposition: string | null;
}

export interface ParsedMessage {
  messageId: string | null;
  subject: string | null;
  from: ParsedAddress[];
  to: ParsedAddress[];
  cc: ParsedAddress[];
  bcc: ParsedAddress[];
  replyTo: ParsedAddress[];
  /** The Date header, ISO 8601; null when missing or unparseable. */
  date: string | null;
  inReplyTo: string | null;
  references: string[];
  headers: ParsedHeader[];
  /** Header lines were dropped (more than MAX_HEADERS) or values cut (longer than MAX_HEADER_VALUE). */
  headersTruncated: boolean;
  text: string | null;
  html: string | null;
  attachments: ParsedAttachment[];
}

/** The most header lines returned; a message may have any number. */
export const MAX_HEADERS = 500;
/** The longest header value returned, in characters (RFC 5322 allows unlimited folded lines). */
export const MAX_HEADER_VALUE = 8_192;
const MAX_HEADER_NAME = 256;
const MAX_ADDRESSES = 100;
const MAX_NAME = 256;
const MAX_ADDRESS = 320;
const MAX_REFERENCES = 100;
const MAX_ATTACHMENTS = 1_000;

/** Fails the stream once more than `maxBytes` went through: RFC822.SIZE is the server's word only. */
class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      done(new AppError('message_too_large', `The message is larger than ${this.maxBytes} bytes.`, { fields: { maxBytes: this.maxBytes } }));
      return;
    }
    done(null, chunk);
  }
}

function cut(value: unknown, max: number): string | null {
  if (typeof value !== 'string' || value === '') return null;
  return value.slice(0, max);
}

function flatten(list: readonly EmailAddress[]): EmailAddress[] {
  return list.flatMap((entry) => (entry.group ? flatten(entry.group) : [entry]));
}

function addressList(value: AddressObject | AddressObject[] | undefined): ParsedAddress[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return flatten(objects.flatMap((o) => o.value))
    .slice(0, MAX_ADDRESSES)
    .map((a) => ({ name: cut(a.name, MAX_NAME), address: cut(a.address, MAX_ADDRESS) }))
    .filter((a) => a.name !== null || a.address !== null);
}

/** mailsplit keeps header lines as "binary" (latin1) strings: back to bytes, then UTF-8 (bad bytes → U+FFFD). */
function utf8(binary: string): string {
  return Buffer.from(binary, 'latin1').toString('utf8');
}

function headerList(lines: ParsedMail['headerLines']): { headers: ParsedHeader[]; truncated: boolean } {
  let truncated = lines.length > MAX_HEADERS;
  const headers = lines.slice(0, MAX_HEADERS).map(({ key, line }) => {
    const colon = line.indexOf(':');
    const name = colon > 0 ? utf8(line.slice(0, colon).trim()) : key;
    // Unfold (RFC 5322 2.2.3): a line break followed by white space is not part of the value.
    // A header block is at most 1 MiB (mailparser's maxHeadSize), so decoding before cutting is cheap.
    const value = colon >= 0 ? utf8(line.slice(colon + 1).replace(/\r?\n(?=[ \t])/g, '')).trim() : '';
    if (value.length > MAX_HEADER_VALUE) truncated = true;
    return { name: name.slice(0, MAX_HEADER_NAME), value: value.slice(0, MAX_HEADER_VALUE) };
  });
  return { headers, truncated };
}

/** mailparser answers an unreadable Date header with the current time: read the header ourselves. */
function dateOf(headers: readonly ParsedHeader[]): string | null {
  const value = headers.find((h) => h.name.toLowerCase() === 'date')?.value;
  const date = value === undefined ? undefined : new Date(value);
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}

function references(value: string | string[] | undefined): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.slice(0, MAX_REFERENCES).map((r) => r.slice(0, MAX_HEADER_VALUE));
}

/** mailparser gives no part number to the body of a message that is not multipart: IMAP calls it 1. */
function partIdOf(a: ParsedMail['attachments'][number]): string {
  const id = (a as { partId?: unknown }).partId;
  return typeof id === 'string' && /^[1-9][0-9]*(\.[1-9][0-9]*)*$/.test(id) ? id.slice(0, 160) : '1';
}

function attachmentOf(a: ParsedMail['attachments'][number]): ParsedAttachment {
  return {
    id: partIdOf(a),
    filename: cut(a.filename, 1_024),
    contentType: (a.contentType || 'application/octet-stream').slice(0, MAX_NAME),
    size: a.size,
    contentId: cut(a.cid, 1_024),
    checksum: a.checksum,
    disposition: cut(a.contentDisposition, MAX_NAME),
  };
}

function toParsedMessage(mail: ParsedMail): ParsedMessage {
  const { headers, truncated } = headerList(mail.headerLines ?? []);
  return {
    messageId: cut(mail.messageId, MAX_HEADER_VALUE),
    subject: cut(mail.subject, MAX_HEADER_VALUE),
    from: addressList(mail.from),
    to: addressList(mail.to),
    cc: addressList(mail.cc),
    bcc: addressList(mail.bcc),
    replyTo: addressList(mail.replyTo),
    date: dateOf(headers),
    inReplyTo: cut(mail.inReplyTo, MAX_HEADER_VALUE),
    references: references(mail.references),
    headers,
    headersTruncated: truncated,
    // With skipHtmlToText an HTML-only message has text '' (nothing converted): no text parts → null.
    text: typeof mail.text === 'string' && mail.text !== '' ? mail.text : null,
    html: typeof mail.html === 'string' ? mail.html : null,
    attachments: mail.attachments.slice(0, MAX_ATTACHMENTS).map(attachmentOf),
  };
}

/**
 * Parses a message read from `source` (destroyed when parsing fails). Fails with
 * `message_too_large` past `limits.maxBytes` and `message_unparseable` when mailparser gives up
 * (a header block over 1 MiB, more than 1 000 MIME parts, …).
 */
export async function parseMessage(source: Readable, limits: ParseLimits): Promise<ParsedMessage> {
  const limited = new ByteLimit(limits.maxBytes);
  source.on('error', (err) => limited.destroy(err));
  source.pipe(limited);
  try {
    const mail = await simpleParser(limited, {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      keepCidLinks: true,
      checksumAlgo: 'sha256',
    });
    return toParsedMessage(mail);
  } catch (err) {
    source.destroy();
    if (err instanceof AppError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new AppError('message_unparseable', `The message cannot be parsed: ${reason}.`, { cause: err });
  }
}
