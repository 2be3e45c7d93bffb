/**
 * The message as stored at acceptance (encrypted, see store/send-store.ts)
 * and as handed to SMTP.
 *
 * Stored form (encodeStored), bytes: a line `3`, a line of JSON with the
 * small fields and the byte lengths of the large ones, then the large ones
 * one after the other: the text and the HTML in UTF-8, each attachment's
 * bytes and the raw message's bytes, decoded (the HTTP layer decodes long
 * base64 fields as the body streams in: parts.ts). A 20 MB attachment is
 * about 20 MB in Redis, not the 27 MB of its base64 or the 36 MB of that
 * encrypted in base64url. Large parts are never escaped or parsed as JSON.
 * Messages stored before this form still decode: format `2` (the same
 * layout with base64 text, lengths in UTF-16 units) and format 1 (one JSON
 * document, `{"v":1,…}`).
 *
 * The Message-ID and the Date (a scheduled message's sendAt) are fixed when the
 * message is accepted, so every attempt submits the same message: should a
 * worker die after the server took it but before that was recorded, the
 * second copy carries the same Message-ID, which lets recipients' clients
 * and Exchange recognise it.
 */
import { randomUUID } from 'node:crypto';
import { isId } from '../ids.js';
import type { OriginalRef } from './originals.js';
import { prepareRaw } from './raw-message.js';
import type { OutgoingMail } from '../../adapters/smtp/send-pool.js';
import type { SendInput } from './model.js';
import { NO_DECODED_PARTS, type MessageParts } from './parts.js';

export interface StoredMessage {
  v: 1;
  /** The mailbox's address: the SMTP login and the envelope sender. */
  from: string;
  /** The From header when the message is sent as another address (Send As); absent in messages stored before it existed. */
  sendAs?: { name?: string; address: string };
  messageId: string;
  date: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string;
  subject?: string;
  text?: string;
  html?: string;
  /** Attachments' bytes, in the pieces they were decoded in. */
  attachments: { filename: string; contentType?: string; content: readonly Buffer[] }[];
  headers: Record<string, string>;
  inReplyTo?: string;
  references?: string[];
  /** A whole message given as is (raw-message.ts), in pieces; `to`, `cc`, `bcc` are then its envelope only. */
  raw?: readonly Buffer[];
  /** The message it replies to or forwards, flagged once it is sent (originals.ts). */
  original?: OriginalRef;
}

/**
 * `<send id.uuid@domain of the sending mailbox>`: unique, from the sender's own domain as Exchange's
 * are, and naming the send, so a bounce that quotes it is matched to it (bounces.ts).
 */
export function newMessageId(from: string, sendId: string): string {
  return `<${sendId}.${randomUUID()}@${from.slice(from.lastIndexOf('@') + 1)}>`;
}

/** The send id a Message-ID of newMessageId names, or null (another sender's, or one from before). */
export function sendIdOfMessageId(messageId: string | null): string | null {
  const id = messageId ? /^<(snd_[A-Za-z0-9_-]{16})\./.exec(messageId)?.[1] : undefined;
  return id && isId(id, 'snd') ? id : null;
}

/** The header naming the send in every message mailsync sends (a bounce quoting it is matched by it too). */
export const SEND_ID_HEADER = 'X-Mailsync-Send-Id';

export function storedMessage(
  input: SendInput, from: string, messageId: string, date: Date, envelope?: readonly string[], original?: OriginalRef, parts: MessageParts = NO_DECODED_PARTS,
): StoredMessage {
  if (input.raw !== undefined) {
    // The message as given; its envelope: the request's recipients, else those its header fields name.
    const given = [...(input.to ?? []), ...(input.cc ?? []), ...(input.bcc ?? [])];
    return { v: 1, from, messageId, date: date.toISOString(), to: given.length > 0 ? given : [...(envelope ?? [])], cc: [], bcc: [], attachments: [], headers: {}, raw: parts.chunks(input.raw) };
  }
  return {
    v: 1,
    from,
    ...(input.from !== undefined ? { sendAs: input.from.name !== undefined ? { name: input.from.name, address: input.from.address } : { address: input.from.address } } : {}),
    messageId,
    date: date.toISOString(),
    to: input.to ?? [],
    cc: input.cc ?? [],
    bcc: input.bcc ?? [],
    ...(input.replyTo !== undefined ? { replyTo: input.replyTo } : {}),
    ...(input.subject !== undefined ? { subject: input.subject } : {}),
    ...(input.text !== undefined ? { text: input.text } : {}),
    ...(input.html !== undefined ? { html: input.html } : {}),
    attachments: (input.attachments ?? []).map((a) => ({ filename: a.filename, content: parts.chunks(a.content), ...(a.contentType ? { contentType: a.contentType } : {}) })),
    headers: input.headers ?? {},
    ...(input.inReplyTo !== undefined ? { inReplyTo: input.inReplyTo } : {}),
    ...(input.references?.length ? { references: input.references } : {}),
    ...(original ? { original } : {}),
  };
}

const FORMAT = '3\n';
const FORMAT_2 = '2\n';

type Header = Omit<StoredMessage, 'text' | 'html' | 'attachments' | 'raw'> & {
  attachments: { filename: string; contentType?: string }[];
  /** The raw message's length, stored after the attachments (absent: none). */
  rawLength?: number;
  /** Lengths (bytes; UTF-16 units in format 2) of the text, the HTML and each attachment; -1 for an absent text or HTML. */
  lengths: number[];
};

const byteLength = (chunks: readonly Buffer[]): number => chunks.reduce((n, c) => n + c.length, 0);

/** The stored form of a message (see the top of this file), in pieces: the large parts are not copied. */
export function encodeStored(message: StoredMessage): Buffer[] {
  const { attachments, raw } = message;
  const text = message.text === undefined ? undefined : Buffer.from(message.text, 'utf8');
  const html = message.html === undefined ? undefined : Buffer.from(message.html, 'utf8');
  const lengths = [text?.length ?? -1, html?.length ?? -1];
  const meta: Header['attachments'] = [];
  const large: Buffer[] = [...(text ? [text] : []), ...(html ? [html] : [])];
  for (const a of attachments) {
    lengths.push(byteLength(a.content));
    meta.push(a.contentType === undefined ? { filename: a.filename } : { filename: a.filename, contentType: a.contentType });
    large.push(...a.content);
  }
  if (raw !== undefined) large.push(...raw);
  const header: Header = {
    v: message.v, from: message.from, sendAs: message.sendAs, messageId: message.messageId, date: message.date,
    to: message.to, cc: message.cc, bcc: message.bcc, replyTo: message.replyTo, subject: message.subject,
    attachments: meta, headers: message.headers, inReplyTo: message.inReplyTo, references: message.references, original: message.original, lengths,
    ...(raw !== undefined ? { rawLength: byteLength(raw) } : {}),
  };
  // JSON.stringify never writes a raw line break (and leaves out undefined fields), so the header ends at the first one.
  return [Buffer.from(FORMAT + JSON.stringify(header) + '\n', 'utf8'), ...large];
}

/** A stored message back from its stored form (formats 3, 2 and 1). */
export function decodeStored(stored: Buffer): StoredMessage {
  if (stored.toString('latin1', 0, FORMAT.length) === FORMAT) {
    const end = headerEnd(stored.indexOf(0x0a, FORMAT.length));
    const header = JSON.parse(stored.toString('utf8', FORMAT.length, end)) as Header;
    return fromLayout(header, stored.length, end + 1, (a, b) => stored.subarray(a, b), (part) => part.toString('utf8'), (part) => part);
  }
  // Stored as text before format 3: format 2 (base64 parts, lengths in UTF-16 units), or format 1.
  const text = stored.toString('utf8');
  if (!text.startsWith(FORMAT_2)) return fromFormat1(JSON.parse(text) as Format1);
  const end = headerEnd(text.indexOf('\n', FORMAT_2.length));
  const header = JSON.parse(text.slice(FORMAT_2.length, end)) as Header;
  return fromLayout(header, text.length, end + 1, (a, b) => text.slice(a, b), (part) => part, (part) => Buffer.from(part, 'base64'));
}

function headerEnd(index: number): number {
  if (index === -1) throw new Error('stored message: no end of header');
  return index;
}

/**
 * The message a header describes, its large parts read one after the other from `start` (bytes in
 * format 3, text in format 2): `slice` cuts a part, `text` and `bytes` read it as a body or a file.
 */
function fromLayout<P>(header: Header, total: number, start: number, slice: (from: number, to: number) => P, text: (part: P) => string, bytes: (part: P) => Buffer): StoredMessage {
  const { lengths, attachments, rawLength, ...small } = header;
  let at = start;
  const take = (length: number): P | undefined => {
    if (length < 0) return undefined;
    if (at + length > total) throw new Error('stored message: shorter than its header says');
    const part = slice(at, at + length);
    at += length;
    return part;
  };
  const [textLength = -1, htmlLength = -1, ...attachmentLengths] = lengths;
  if (attachmentLengths.length !== attachments.length) throw new Error('stored message: attachment count differs from its header');
  const body = take(textLength);
  const html = take(htmlLength);
  const decoded: StoredMessage = {
    ...small,
    ...(body !== undefined ? { text: text(body) } : {}),
    ...(html !== undefined ? { html: text(html) } : {}),
    attachments: attachments.map((meta, i) => ({ ...meta, content: [bytes(take(attachmentLengths[i]!)!)] })),
  };
  if (rawLength !== undefined) decoded.raw = [bytes(take(rawLength)!)];
  if (at !== total) throw new Error('stored message: longer than its header says');
  return decoded;
}

/** Format 1: one JSON document, attachments and raw in base64. */
type Format1 = Omit<StoredMessage, 'attachments' | 'raw'> & { attachments: { filename: string; contentType?: string; content: string }[]; raw?: string };

function fromFormat1(message: Format1): StoredMessage {
  const { attachments, raw, ...rest } = message;
  return {
    ...rest,
    attachments: attachments.map((a) => ({ ...a, content: [Buffer.from(a.content, 'base64')] })),
    ...(raw !== undefined ? { raw: [Buffer.from(raw, 'base64')] } : {}),
  };
}

const joined = (chunks: readonly Buffer[]): Buffer => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));

/** The message as handed to SMTP; `sendId` names it in X-Mailsync-Send-Id (bounces.ts). */
export function outgoingMail(stored: StoredMessage, sendId: string): OutgoingMail {
  const date = new Date(stored.date);
  if (stored.raw !== undefined) {
    const raw = prepareRaw(joined(stored.raw), { sendId, messageId: stored.messageId, date });
    return { from: stored.from, to: stored.to, cc: stored.cc, bcc: stored.bcc, attachments: [], headers: {}, messageId: stored.messageId, date, raw };
  }
  return {
    from: stored.from,
    ...(stored.sendAs !== undefined ? { sendAs: stored.sendAs } : {}),
    to: stored.to,
    cc: stored.cc,
    bcc: stored.bcc,
    replyTo: stored.replyTo,
    subject: stored.subject,
    text: stored.text,
    html: stored.html,
    attachments: stored.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: joined(a.content) })),
    headers: { ...stored.headers, [SEND_ID_HEADER]: sendId },
    inReplyTo: stored.inReplyTo,
    references: stored.references,
    messageId: stored.messageId,
    date,
  };
}
