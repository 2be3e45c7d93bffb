/**
 * The message as stored at acceptance (encrypted, see store/send-store.ts)
 * and as handed to SMTP.
 *
 * Stored form (encodeStored): a line `2`, a line of JSON with the small
 * fields and the lengths of the large ones, then the large ones one after
 * the other, as they came: the text, the HTML and each attachment's base64.
 * Large parts are not escaped and parsed again as JSON strings, which is
 * most of the work for a long body or a big attachment. Messages stored as
 * one JSON document (`{"v":1,…}`) before this form still decode.
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
  /** Attachments keep the request's base64 until the worker decodes them. */
  attachments: { filename: string; contentType?: string; content: string }[];
  headers: Record<string, string>;
  inReplyTo?: string;
  references?: string[];
  /** A whole message given as base64 (raw-message.ts); `to`, `cc`, `bcc` are then its envelope only. */
  raw?: string;
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
  input: SendInput, from: string, messageId: string, date: Date, envelope?: readonly string[], original?: OriginalRef,
): StoredMessage {
  if (input.raw !== undefined) {
    // The message as given; its envelope: the request's recipients, else those its header fields name.
    const given = [...(input.to ?? []), ...(input.cc ?? []), ...(input.bcc ?? [])];
    return { v: 1, from, messageId, date: date.toISOString(), to: given.length > 0 ? given : [...(envelope ?? [])], cc: [], bcc: [], attachments: [], headers: {}, raw: input.raw };
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
    attachments: (input.attachments ?? []).map((a) => ({ filename: a.filename, content: a.content, ...(a.contentType ? { contentType: a.contentType } : {}) })),
    headers: input.headers ?? {},
    ...(input.inReplyTo !== undefined ? { inReplyTo: input.inReplyTo } : {}),
    ...(input.references?.length ? { references: input.references } : {}),
    ...(original ? { original } : {}),
  };
}

const FORMAT = '2\n';

type Header = Omit<StoredMessage, 'text' | 'html' | 'attachments' | 'raw'> & {
  attachments: { filename: string; contentType?: string }[];
  /** The raw message's length, stored after the attachments (absent: none). */
  rawLength?: number;
  /** Lengths (UTF-16 code units) of the text, the HTML and each attachment's content; -1 for an absent text or HTML. */
  lengths: number[];
};

/** The stored form of a message (see the top of this file). */
export function encodeStored(message: StoredMessage): string {
  const { text, html, attachments, raw } = message;
  const lengths = [text === undefined ? -1 : text.length, html === undefined ? -1 : html.length];
  const meta: Header['attachments'] = [];
  let large = (text ?? '') + (html ?? '');
  for (const a of attachments) {
    lengths.push(a.content.length);
    meta.push(a.contentType === undefined ? { filename: a.filename } : { filename: a.filename, contentType: a.contentType });
    large += a.content;
  }
  if (raw !== undefined) large += raw;
  const header: Header = {
    v: message.v, from: message.from, sendAs: message.sendAs, messageId: message.messageId, date: message.date,
    to: message.to, cc: message.cc, bcc: message.bcc, replyTo: message.replyTo, subject: message.subject,
    attachments: meta, headers: message.headers, inReplyTo: message.inReplyTo, references: message.references, original: message.original, lengths,
    ...(raw !== undefined ? { rawLength: raw.length } : {}),
  };
  // JSON.stringify never writes a raw line break (and leaves out undefined fields), so the header ends at the first one.
  return FORMAT + JSON.stringify(header) + '\n' + large;
}

/** A stored message back from its stored form (or from the JSON document of format 1). */
export function decodeStored(stored: string): StoredMessage {
  if (!stored.startsWith(FORMAT)) return JSON.parse(stored) as StoredMessage;
  const headerEnd = stored.indexOf('\n', FORMAT.length);
  if (headerEnd === -1) throw new Error('stored message: no end of header');
  const { lengths, attachments, rawLength, ...small } = JSON.parse(stored.slice(FORMAT.length, headerEnd)) as Header;
  let at = headerEnd + 1;
  const take = (length: number): string | undefined => {
    if (length < 0) return undefined;
    const part = stored.slice(at, at + length);
    if (part.length !== length) throw new Error('stored message: shorter than its header says');
    at += length;
    return part;
  };
  const [textLength = -1, htmlLength = -1, ...attachmentLengths] = lengths;
  if (attachmentLengths.length !== attachments.length) throw new Error('stored message: attachment count differs from its header');
  const text = take(textLength);
  const html = take(htmlLength);
  const decoded: StoredMessage = {
    ...small,
    ...(text !== undefined ? { text } : {}),
    ...(html !== undefined ? { html } : {}),
    attachments: attachments.map((meta, i) => ({ ...meta, content: take(attachmentLengths[i]!)! })),
  };
  if (rawLength !== undefined) decoded.raw = take(rawLength)!;
  if (at !== stored.length) throw new Error('stored message: longer than its header says');
  return decoded;
}

/** The message as handed to SMTP; `sendId` names it in X-Mailsync-Send-Id (bounces.ts). */
export function outgoingMail(stored: StoredMessage, sendId: string): OutgoingMail {
  const date = new Date(stored.date);
  if (stored.raw !== undefined) {
    const raw = prepareRaw(Buffer.from(stored.raw, 'base64'), { sendId, messageId: stored.messageId, date });
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
    attachments: stored.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: Buffer.from(a.content, 'base64') })),
    headers: { ...stored.headers, [SEND_ID_HEADER]: sendId },
    inReplyTo: stored.inReplyTo,
    references: stored.references,
    messageId: stored.messageId,
    date,
  };
}
