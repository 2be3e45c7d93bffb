/**
 * Reading a delivery status notification (RFC 3464: `multipart/report;
 * report-type=delivery-status`, and RFC 6533's `global-delivery-status`), as
 * Exchange Online's non-delivery reports and other servers' bounces are
 * shaped: which recipients failed (or are delayed), with the action, status
 * and diagnostic code the reporting server gave, and which message they
 * refer to (the Message-ID and `X-Mailsync-Send-Id` in the original's
 * headers, from a `text/rfc822-headers` or `message/rfc822` part). Pure: no
 * I/O.
 *
 * A report is mail from anyone: everything is bounded (parts, fields,
 * recipients, lengths), and anything that is not a delivery report, or not
 * one this reads, is `undefined`, never an error.
 */
import { isId } from '../ids.js';

export interface ReportedRecipient {
  /** The Final-Recipient's address (its `rfc822;` type cut off), else the Original-Recipient's. */
  recipient: string;
  /** `failed` or `delayed` (reports of delivered, relayed or expanded mail are not bounces). */
  action: 'failed' | 'delayed';
  /** The enhanced status code (`5.1.1`), or null when the report gave none that reads as one. */
  status: string | null;
  /** The Diagnostic-Code, its `smtp;` type cut off, or null. */
  diagnosticCode: string | null;
}

export interface DeliveryReport {
  /** The Message-ID of the message the report is about, with its angle brackets; null when not given. */
  originalMessageId: string | null;
  /** The original's X-Mailsync-Send-Id header, when mailsync sent it. */
  originalSendId: string | null;
  recipients: ReportedRecipient[];
}

/** Parts of a report read at most (Exchange's have 3 or 4). */
const MAX_PARTS = 20;
/** Recipients of one report kept at most. */
export const MAX_REPORTED_RECIPIENTS = 100;
/** Header or field lines read at most per block. */
const MAX_FIELDS = 200;
const MAX_RECIPIENT = 320;
const MAX_DIAGNOSTIC = 1_000;
const MAX_ID = 998;

interface Block {
  fields: Map<string, string>;
  body: string;
}

const cut = (value: string, max: number): string => (value.length > max ? value.slice(0, max) : value);

/** Header or field lines (unfolded) into a map of the first value of each lowercased name. */
function fieldsOf(lines: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  let current: { name: string; value: string } | undefined;
  let count = 0;
  const flush = (): void => {
    if (current && !fields.has(current.name)) fields.set(current.name, current.value.trim());
    current = undefined;
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line) && current) {
      if (current.value.length < MAX_DIAGNOSTIC * 4) current.value += ` ${line.trim()}`;
      continue;
    }
    flush();
    if (++count > MAX_FIELDS) break;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) };
  }
  flush();
  return fields;
}

/** A header block and the body after its first empty line. */
function block(text: string): Block {
  const match = /\r?\n\r?\n/.exec(text);
  const head = match ? text.slice(0, match.index) : text;
  const body = match ? text.slice(match.index + match[0].length) : '';
  return { fields: fieldsOf(head.split(/\r?\n/)), body };
}

/** A Content-Type's media type (lowercase) and one parameter's value. */
function mediaType(value: string | undefined): string {
  return (value ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
}

function parameter(value: string | undefined, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value ?? '');
  return match ? (match[1] ?? match[2]) : undefined;
}

/** A part's body decoded by its Content-Transfer-Encoding (base64, quoted-printable; others as they are). */
function decoded(part: Block): string {
  const encoding = (part.fields.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    return part.body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return part.body;
}

/** The parts of a multipart body (the preamble and epilogue left out), at most MAX_PARTS. */
function partsOf(body: string, boundary: string): Block[] {
  const parts: Block[] = [];
  const delimiter = `--${boundary}`;
  const lines = body.split(/\r?\n/);
  let current: string[] | undefined;
  for (const line of lines) {
    // A delimiter line is the boundary alone (an inner part's longer boundary starting alike is not).
    const rest = line.startsWith(delimiter) ? line.slice(delimiter.length) : undefined;
    if (rest !== undefined && /^(--)?[ \t]*$/.test(rest)) {
      if (current) parts.push(block(current.join('\r\n')));
      if (parts.length >= MAX_PARTS || rest.startsWith('--')) return parts;
      current = [];
      continue;
    }
    current?.push(line);
  }
  // No closing delimiter (a report cut short): what was read of the last part still counts.
  if (current && parts.length < MAX_PARTS) parts.push(block(current.join('\r\n')));
  return parts;
}

/** `rfc822; bob@example.org` → `bob@example.org`. */
function typed(value: string | undefined): string | null {
  if (!value) return null;
  const semicolon = value.indexOf(';');
  const rest = (semicolon === -1 ? value : value.slice(semicolon + 1)).trim();
  return rest === '' ? null : rest;
}

function recipientsOf(statusBody: string): ReportedRecipient[] {
  // Blocks of fields separated by empty lines: the first is about the message, each next one a recipient.
  const blocks = statusBody.split(/\r?\n[ \t]*\r?\n/).map((b) => fieldsOf(b.split(/\r?\n/))).filter((f) => f.size > 0);
  const out: ReportedRecipient[] = [];
  for (const fields of blocks.slice(1)) {
    if (out.length >= MAX_REPORTED_RECIPIENTS) break;
    const action = (fields.get('action') ?? '').toLowerCase();
    if (action !== 'failed' && action !== 'delayed') continue;
    const recipient = typed(fields.get('final-recipient')) ?? typed(fields.get('original-recipient'));
    if (!recipient) continue;
    const status = /^([245]\.\d{1,3}\.\d{1,3})\b/.exec((fields.get('status') ?? '').trim())?.[1] ?? null;
    const diagnostic = typed(fields.get('diagnostic-code'));
    out.push({
      recipient: cut(recipient.replace(/^<(.*)>$/, '$1'), MAX_RECIPIENT),
      action,
      status,
      diagnosticCode: diagnostic === null ? null : cut(diagnostic, MAX_DIAGNOSTIC),
    });
  }
  return out;
}

const STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const ORIGINAL_TYPES = new Set(['text/rfc822-headers', 'message/rfc822', 'message/global-headers', 'message/global']);

/** Whether a Content-Type names a delivery status report. */
export function isDeliveryReportType(contentType: string | undefined | null): boolean {
  if (!contentType || mediaType(contentType) !== 'multipart/report') return false;
  const reportType = (parameter(contentType, 'report-type') ?? '').toLowerCase();
  return reportType === 'delivery-status' || reportType === 'global-delivery-status';
}

/** The report in a message's source (as much of it as was read), or undefined when it holds none. */
export function readDeliveryReport(source: string): DeliveryReport | undefined {
  const message = block(source);
  const contentType = message.fields.get('content-type');
  if (!isDeliveryReportType(contentType)) return undefined;
  const boundary = parameter(contentType, 'boundary');
  if (!boundary || boundary.length > 200) return undefined;
  let recipients: ReportedRecipient[] | undefined;
  let original: Map<string, string> | undefined;
  for (const part of partsOf(message.body, boundary)) {
    const type = mediaType(part.fields.get('content-type'));
    if (STATUS_TYPES.has(type) && !recipients) recipients = recipientsOf(decoded(part));
    else if (ORIGINAL_TYPES.has(type) && !original) original = block(decoded(part)).fields;
  }
  if (!recipients || recipients.length === 0) return undefined;
  const id = original?.get('message-id')?.trim();
  const sendId = original?.get('x-mailsync-send-id')?.trim();
  return {
    originalMessageId: id && /^<[^<>\s]+>$/.test(id) ? cut(id, MAX_ID) : null,
    originalSendId: sendId && isId(sendId, 'snd') ? sendId : null,
    recipients,
  };
}
