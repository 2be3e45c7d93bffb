/**
 * `raw` (issue 17): a whole RFC 5322 message given as base64 (S/MIME, calendar
 * invitations, anything a client builds itself), sent as given. Pure: no I/O.
 *
 * What mailsync does to it, in the header block only (the body, and so any
 * S/MIME signature over it, is left byte for byte):
 * - Bcc header fields are taken out (the envelope carries those recipients;
 *   RFC 5322 3.6.3 leaves the choice, and Exchange's clients remove them);
 * - `X-Mailsync-Send-Id` (bounces.ts) replaces any X-Mailsync-* field;
 * - Message-ID and Date are added when missing (the send's own, fixed at
 *   acceptance), so every attempt submits the same message.
 * Envelope recipients: `to`/`cc`/`bcc` of the request when given, else the
 * addresses in the message's To, Cc and Bcc fields.
 */
import { isAddress } from './validate.js';

export interface HeaderField {
  /** Lower case. */
  name: string;
  /** Unfolded, trimmed. */
  value: string;
  /** Byte offsets of the whole field in the source, folded lines and line break included. */
  start: number;
  end: number;
}

/** Header fields read at most (a message may have any number; these are what the envelope needs). */
const MAX_FIELDS = 1_000;
const MAX_ADDRESSES = 1_000;

/** The header block's fields and where the body starts (the offset of the empty line's end); body 0 when there is none. */
export function headerFields(source: Buffer): { fields: HeaderField[]; bodyStart: number } {
  const text = source.toString('latin1');
  const fields: HeaderField[] = [];
  let at = 0;
  while (at < text.length && fields.length < MAX_FIELDS) {
    const lineEnd = text.indexOf('\n', at);
    const next = lineEnd === -1 ? text.length : lineEnd + 1;
    const line = text.slice(at, next).replace(/\r?\n$/, '');
    if (line === '') return { fields, bodyStart: next };
    if (/^[ \t]/.test(line) && fields.length > 0) {
      const last = fields[fields.length - 1]!;
      last.value = `${last.value} ${line.trim()}`;
      last.end = next;
    } else {
      const colon = line.indexOf(':');
      if (colon > 0) fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim(), start: at, end: next });
    }
    at = next;
  }
  return { fields, bodyStart: 0 };
}

/**
 * The addr-specs of an address-list field value (`"Doe, J" <j@x.org>, k@y.org, Team: a@z.org;`):
 * quoted strings and comments left out, angle-bracketed addresses and bare ones taken. Each is
 * checked by the caller.
 */
export function addressesOf(value: string): string[] {
  const plain = value.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  const out: string[] = [];
  for (const part of plain.split(/[,;]/)) {
    if (out.length >= MAX_ADDRESSES) break;
    const angle = /<([^<>]*)>/.exec(part);
    const spec = (angle ? angle[1]! : part.replace(/^[^:]*:/, '')).trim();
    if (spec !== '') out.push(spec);
  }
  return out;
}

export interface RawCheck {
  /** Envelope recipients read from the message's To, Cc and Bcc fields (bare, lower case, distinct). */
  recipients: string[];
  /** Its Message-ID when it has one that reads as one. */
  messageId: string | null;
  problems: string[];
}

const MESSAGE_ID = /^<[\x21-\x3B\x3D\x3F-\x7E]+@[\x21-\x3B\x3D\x3F-\x7E]+>$/;

/** What a raw message says of its sender, recipients and Message-ID, and what is wrong with it. */
export function checkRaw(source: Buffer): RawCheck {
  const { fields, bodyStart } = headerFields(source);
  const problems: string[] = [];
  if (bodyStart === 0) problems.push('must be a message: header fields, an empty line, then the body');
  if (!fields.some((f) => f.name === 'from')) problems.push('needs a From header field');
  const recipients = new Set<string>();
  for (const field of fields.filter((f) => f.name === 'to' || f.name === 'cc' || f.name === 'bcc')) {
    for (const address of addressesOf(field.value)) {
      if (isAddress(address)) recipients.add(address.toLowerCase());
      else problems.push(`its ${field.name === 'to' ? 'To' : field.name === 'cc' ? 'Cc' : 'Bcc'} field holds "${address.slice(0, 80)}", which is not an address`);
    }
  }
  const id = fields.find((f) => f.name === 'message-id')?.value;
  return { recipients: [...recipients], messageId: id !== undefined && MESSAGE_ID.test(id) ? id : null, problems };
}

/** The message as submitted: Bcc and X-Mailsync-* fields out, X-Mailsync-Send-Id in, Message-ID and Date when missing. */
export function prepareRaw(source: Buffer, added: { sendId: string; messageId: string; date: Date }): Buffer {
  const { fields, bodyStart } = headerFields(source);
  const drop = fields.filter((f) => f.name === 'bcc' || f.name.startsWith('x-mailsync-'));
  const lines = [`X-Mailsync-Send-Id: ${added.sendId}`];
  if (!fields.some((f) => f.name === 'message-id')) lines.push(`Message-ID: ${added.messageId}`);
  if (!fields.some((f) => f.name === 'date')) lines.push(`Date: ${added.date.toUTCString().replace('GMT', '+0000')}`);
  const kept: Buffer[] = [Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1')];
  let at = 0;
  for (const field of drop) {
    kept.push(source.subarray(at, field.start));
    at = field.end;
  }
  kept.push(source.subarray(at));
  return bodyStart === 0 ? source : Buffer.concat(kept);
}
