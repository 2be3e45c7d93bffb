/**
 * What the schema cannot say about a message to send. Pure; every refusal is
 * a 400 naming the field, except a message over the size limit (413).
 *
 * - Addresses are bare RFC 5322 addr-specs in ASCII (dot-atom local part,
 *   host-name domain): no display names, comments, quoted local parts, lists
 *   or whitespace, so `"a@x.com" <evil@y>`, `a@x.com, b@y` and CR/LF cannot
 *   smuggle a recipient or a header in.
 * - Header values (subject included) carry no control character but TAB: no
 *   CR/LF injection. Header names are RFC 5322 field names and not one the
 *   service writes itself (HEADER_DENYLIST): a client cannot set From, To,
 *   Subject, Message-ID, the MIME structure, trace or authentication headers,
 *   nor Exchange's internal X-MS-Exchange-* controls.
 * - Attachments are strict base64 (canonical: decoding and encoding again
 *   gives the same text), with a file name that is a name, not a path.
 */
import { checkRaw } from './raw-message.js';
import { NO_DECODED_PARTS, type MessageParts } from './parts.js';
import { AppError, ValidationError, type FieldProblem } from '../../errors/errors.js';
import type { SendInput } from './model.js';

export interface SendLimits {
  maxMessageBytes: number;
  maxRecipients: number;
}

export interface CheckedSend {
  /** Distinct recipient addresses (to, cc and bcc; case-insensitive). */
  recipients: number;
  /** The message's size as it will be sent (MIME-encoded), estimated from above (encodedSize). */
  bytes: number;
  /** A raw message's envelope recipients read from its header fields (when the request named none). */
  rawRecipients?: string[];
  /** A raw message's own Message-ID, when it has one. */
  rawMessageId?: string | null;
}

/** The structured fields a raw message replaces. */
const NOT_WITH_RAW = ['from', 'subject', 'text', 'html', 'attachments', 'headers', 'replyTo', 'inReplyTo', 'references'] as const;

/** A raw message's checks: alone, base64, a message with a From, recipients that are addresses. */
function checkRawInput(input: SendInput, raw: string, given: Set<string>, parts: MessageParts, problems: FieldProblem[]): Pick<CheckedSend, 'rawRecipients' | 'rawMessageId' | 'bytes'> | undefined {
  const mixed = NOT_WITH_RAW.filter((name) => input[name] !== undefined);
  if (mixed.length > 0) problems.push({ field: '/raw', message: `is the whole message: send it without ${mixed.join(', ')}` });
  const size = parts.size(raw);
  if (size === undefined) {
    problems.push({ field: '/raw', message: 'must be standard base64 with padding, without line breaks or spaces' });
    return undefined;
  }
  const source = parts.whole(raw);
  const check = checkRaw(source);
  for (const message of check.problems) problems.push({ field: '/raw', message });
  return {
    bytes: size,
    rawMessageId: check.messageId,
    ...(given.size === 0 ? { rawRecipients: check.recipients } : {}),
  };
}

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const ADDRESS = new RegExp(`^(${ATEXT}(?:\\.${ATEXT})*)@(${LABEL}(?:\\.${LABEL})+)$`);

/** Header fields the service writes, or that only servers may write. Lower case; `*` ends a prefix. */
export const HEADER_DENYLIST: readonly string[] = [
  'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id', 'in-reply-to', 'references',
  'mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition', 'content-id', 'content-description',
  'return-path', 'received', 'received-spf', 'authentication-results', 'dkim-signature', 'domainkey-signature',
  'resent-*', 'arc-*', 'x-ms-exchange-*', 'x-original-to', 'delivered-to', 'envelope-to', 'x-mailsync-*',
];

const FIELD_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,75}$/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_BUT_TAB = /[\x00-\x08\x0A-\x1F\x7F]/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL = /[\x00-\x1F\x7F]/;
const MESSAGE_ID = /^<[\x21-\x3B\x3D\x3F-\x7E]+@[\x21-\x3B\x3D\x3F-\x7E]+>$/;
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isAddress(value: string): boolean {
  const match = ADDRESS.exec(value);
  return match !== null && match[1]!.length <= 64 && value.length <= 254;
}

export function isDeniedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return HEADER_DENYLIST.some((entry) => (entry.endsWith('*') ? lower.startsWith(entry.slice(0, -1)) : lower === entry));
}

export { strictBase64Length } from './parts.js';

function checkAddresses(input: SendInput, problems: FieldProblem[]): Set<string> {
  const distinct = new Set<string>();
  for (const list of ['to', 'cc', 'bcc'] as const) {
    (input[list] ?? []).forEach((address, i) => {
      if (isAddress(address)) distinct.add(address.toLowerCase());
      else problems.push({ field: `/${list}/${i}`, message: 'must be a bare address (local@domain), without a display name, spaces or line breaks' });
    });
  }
  if (input.replyTo !== undefined && !isAddress(input.replyTo)) {
    problems.push({ field: '/replyTo', message: 'must be a bare address (local@domain), without a display name, spaces or line breaks' });
  }
  return distinct;
}

/**
 * The From a message is sent as. The name is written by nodemailer as a
 * quoted or encoded phrase, but is refused anything that could read as an
 * address or end the phrase: control characters, quotes, angle brackets,
 * backslashes, commas, semicolons, colons and `@` (a name such as
 * `ceo@contoso.com` would show a reader an address the message is not from).
 */
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const NAME_FORBIDDEN = /[\x00-\x1F\x7F"<>\\,;:@]/;
export const MAX_FROM_NAME = 128;

function checkFrom(input: SendInput, problems: FieldProblem[]): void {
  if (input.from === undefined) return;
  const { name, address } = input.from;
  if (!isAddress(address)) {
    problems.push({ field: '/from/address', message: 'must be a bare address (local@domain), without a display name, spaces or line breaks' });
  }
  if (name !== undefined) {
    if (name.trim() === '' || name.length > MAX_FROM_NAME) {
      problems.push({ field: '/from/name', message: `must be 1 to ${MAX_FROM_NAME} characters, not only spaces` });
    } else if (NAME_FORBIDDEN.test(name)) {
      problems.push({ field: '/from/name', message: 'must not contain control characters, quotes, < > \\ , ; : or @ (a display name is not an address)' });
    }
  }
}

function checkHeaders(input: SendInput, problems: FieldProblem[]): void {
  if (input.subject !== undefined && CONTROL_BUT_TAB.test(input.subject)) {
    problems.push({ field: '/subject', message: 'must not contain CR, LF or other control characters' });
  }
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    const field = `/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!FIELD_NAME.test(name)) {
      problems.push({ field, message: 'header names are letters, digits and dashes (no CR, LF, colon or space)' });
    } else if (isDeniedHeader(name)) {
      problems.push({ field, message: `${name} is written by the service and cannot be set` });
    } else if (CONTROL_BUT_TAB.test(value)) {
      problems.push({ field, message: 'must not contain CR, LF or other control characters' });
    }
  }
  const ids = [
    ...(input.inReplyTo === undefined ? [] : [{ field: '/inReplyTo', id: input.inReplyTo }]),
    ...(input.references ?? []).map((id, i) => ({ field: `/references/${i}`, id })),
  ];
  for (const { field, id } of ids) {
    if (!MESSAGE_ID.test(id)) problems.push({ field, message: 'must be a Message-ID in angle brackets (<id@host>), without spaces or line breaks' });
  }
}

function checkAttachments(input: SendInput, parts: MessageParts, problems: FieldProblem[]): number {
  let bytes = 0;
  (input.attachments ?? []).forEach((attachment, i) => {
    const at = `/attachments/${i}`;
    const name = attachment.filename;
    if (CONTROL.test(name) || /[/\\]/.test(name) || name === '.' || name === '..') {
      problems.push({ field: `${at}/filename`, message: 'must be a file name: no CR, LF, control characters, / or \\' });
    }
    if (attachment.contentType !== undefined && !MIME_TYPE.test(attachment.contentType)) {
      problems.push({ field: `${at}/contentType`, message: 'must be a MIME type such as application/pdf (no parameters)' });
    }
    const size = parts.size(attachment.content);
    if (size === undefined) problems.push({ field: `${at}/content`, message: 'must be standard base64 with padding, without line breaks or spaces' });
    else bytes += encodedBase64(size) + PART_HEADER_BYTES + Buffer.byteLength(name, 'utf8') * 3;
  });
  return bytes;
}

/**
 * The size limit counts the message as it is sent (Exchange counts it so: a 20 MB file is about
 * 27 MB of base64). Estimated from above without building the message: base64 in lines of 76
 * characters for attachments, and for the text and HTML too (nodemailer picks quoted-printable
 * only where it is smaller), a part header per attachment, and the header fields with room for
 * what nodemailer adds. A raw message is sent as given, plus the few fields added to it.
 */
const PART_HEADER_BYTES = 400;
const MESSAGE_HEADER_BYTES = 2_048;

/** Base64 of `bytes` bytes in lines of 76 characters with CRLF. */
export function encodedBase64(bytes: number): number {
  const chars = Math.ceil(bytes / 3) * 4;
  return chars + 2 * Math.ceil(chars / 76);
}

function headerBytes(input: SendInput): number {
  const addresses = [...(input.to ?? []), ...(input.cc ?? []), ...(input.bcc ?? [])].reduce((n, a) => n + a.length + 4, 0);
  const fields = Object.entries(input.headers ?? {}).reduce((n, [name, value]) => n + name.length + Buffer.byteLength(value, 'utf8') * 3 + 4, 0);
  const ids = [input.inReplyTo ?? '', ...(input.references ?? [])].reduce((n, id) => n + id.length + 2, 0) * 2;
  return MESSAGE_HEADER_BYTES + addresses + fields + ids + Buffer.byteLength(input.subject ?? '', 'utf8') * 3;
}

/**
 * Throws a ValidationError (400) listing every problem, or a payload_too_large (413). With
 * `recipientsLater` (a reply, whose recipients may come from its original) no recipient is needed yet.
 * `parts` holds the base64 fields the HTTP layer decoded as they arrived.
 */
export function checkSend(input: SendInput, limits: SendLimits, options: { recipientsLater?: boolean; parts?: MessageParts } = {}): CheckedSend {
  const problems: FieldProblem[] = [];
  const parts = options.parts ?? NO_DECODED_PARTS;
  checkFrom(input, problems);
  const given = checkAddresses(input, problems);
  checkHeaders(input, problems);
  const attachmentBytes = checkAttachments(input, parts, problems);
  const raw = input.raw === undefined ? undefined : checkRawInput(input, input.raw, given, parts, problems);
  const distinct = raw?.rawRecipients ? new Set(raw.rawRecipients) : given;
  if (problems.length === 0 && distinct.size === 0 && !options.recipientsLater) {
    problems.push({ field: '/to', message: 'at least one recipient is required (to, cc or bcc)' });
  }
  if (distinct.size > limits.maxRecipients) {
    problems.push({ field: '/to', message: `at most ${limits.maxRecipients} recipients per message (to + cc + bcc); send several messages` });
  }
  if (problems.length > 0) {
    const [first] = problems;
    throw new ValidationError(`${first!.field.slice(1)} ${first!.message}.`, problems);
  }
  const bytes = raw
    ? raw.bytes + MESSAGE_HEADER_BYTES
    : headerBytes(input) + encodedBase64(Buffer.byteLength(input.text ?? '', 'utf8')) + encodedBase64(Buffer.byteLength(input.html ?? '', 'utf8')) + attachmentBytes;
  if (bytes > limits.maxMessageBytes) {
    throw new AppError('payload_too_large', `The message is about ${bytes} bytes as sent (${raw ? 'the raw message' : 'MIME-encoded: attachments in base64'}); the limit is ${limits.maxMessageBytes}.`, {
      hint: 'Send smaller attachments, or share large files by link. Exchange Online takes 35 MB per message as sent by default '
        + '(a file grows by a third in base64; its admin may raise the limit, and SEND_MAX_MESSAGE_BYTES with it).',
      fields: { limitBytes: limits.maxMessageBytes },
    });
  }
  return { recipients: distinct.size, bytes, ...(raw ? { rawMessageId: raw.rawMessageId, ...(raw.rawRecipients ? { rawRecipients: raw.rawRecipients } : {}) } : {}) };
}

/** How far ahead `sendAt` may be (api.md: at most 30 days). */
export const MAX_SCHEDULE_AHEAD_MS = 30 * 86_400_000;

/** RFC 3339 date-time with its zone (`Z` or `±hh:mm`): a time without a zone means nothing to a server. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 with a real day and time: Date.parse alone takes 2026-02-30 (as 2 March) and 24:00. */
function isCalendarTime(text: string): boolean {
  const match = RFC3339.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
}

/**
 * When a message with `sendAt` is due (ms since the epoch), checked against `nowMs`; undefined when
 * it is not in the future (no `sendAt`, or a time already past: sent at once, as Mailgun and
 * EmailEngine do, so a client's clock a little ahead or a retry after the time does not fail it).
 * Throws a ValidationError naming `/sendAt` for a time that is not RFC 3339 with a zone, or is
 * more than 30 days ahead.
 */
export function dueAt(sendAt: string | undefined, nowMs: number): number | undefined {
  if (sendAt === undefined) return undefined;
  const ms = isCalendarTime(sendAt) ? Date.parse(sendAt) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ValidationError('sendAt must be a date-time with a time zone (RFC 3339), such as 2026-05-01T09:00:00Z.', [
      { field: '/sendAt', message: 'must be an RFC 3339 date-time with a time zone, such as 2026-05-01T09:00:00Z' },
    ]);
  }
  if (ms - nowMs > MAX_SCHEDULE_AHEAD_MS) {
    throw new ValidationError('sendAt is more than 30 days ahead.', [
      { field: '/sendAt', message: `must be at most 30 days ahead (until ${new Date(nowMs + MAX_SCHEDULE_AHEAD_MS).toISOString()})` },
    ], 'Schedule the message at most 30 days ahead; for a later time, send it from your own scheduler nearer the date.');
  }
  return ms > nowMs ? ms : undefined;
}
