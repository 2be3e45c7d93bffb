/**
 * The message as stored at acceptance (encrypted, see store/send-store.ts)
 * and as handed to SMTP. The Message-ID and the Date are fixed when the
 * message is accepted, so every attempt submits the same message: should a
 * worker die after the server took it but before that was recorded, the
 * second copy carries the same Message-ID, which lets recipients' clients
 * and Exchange recognise it.
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingMail } from '../../adapters/smtp/send-pool.js';
import type { SendInput } from './schemas.js';

export interface StoredMessage {
  v: 1;
  from: string;
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
}

/** `<uuid@domain of the sending mailbox>`: unique, and from the sender's own domain, as Exchange's are. */
export function newMessageId(from: string): string {
  return `<${randomUUID()}@${from.slice(from.lastIndexOf('@') + 1)}>`;
}

export function storedMessage(input: SendInput, from: string, messageId: string, date: Date): StoredMessage {
  return {
    v: 1,
    from,
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
  };
}

export function outgoingMail(stored: StoredMessage): OutgoingMail {
  return {
    from: stored.from,
    to: stored.to,
    cc: stored.cc,
    bcc: stored.bcc,
    replyTo: stored.replyTo,
    subject: stored.subject,
    text: stored.text,
    html: stored.html,
    attachments: stored.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: Buffer.from(a.content, 'base64') })),
    headers: stored.headers,
    inReplyTo: stored.inReplyTo,
    references: stored.references,
    messageId: stored.messageId,
    date: new Date(stored.date),
  };
}
