/**
 * A received message's content as events carry it (webhook `include`):
 * text and HTML each cut at 256 KiB of UTF-8, the top-level headers and the
 * attachments' metadata each bounded by count and size, so an event (and the
 * webhook body made from it) stays bounded whatever the message. Pure.
 *
 * Bounds, and why:
 * - text, html: MAX_BODY_BYTES of UTF-8 each (the API contract), cut at a
 *   character boundary, never inside a multi-byte character.
 * - headers: the parsed message's list (in order, unfolded, at most 500, values
 *   at most 8 192 characters), then as many as fit in MAX_LIST_BYTES of JSON:
 *   a header block can be 1 MiB, a webhook body should not be.
 * - attachments: metadata only, at most MAX_ATTACHMENTS and MAX_LIST_BYTES of JSON
 *   (a hostile message can carry 1 000 parts with long names).
 * Each cut list says so (`headersTruncated`, `attachmentsTruncated`).
 */
import type { ParsedMessage } from '../../adapters/mail/parse.js';

export const CONTENT_PARTS = ['text', 'html', 'headers', 'attachments'] as const;
export type ContentPart = (typeof CONTENT_PARTS)[number];

/** Why an event that should carry content carries none. */
export const CONTENT_OMITTED_REASONS = ['too_large', 'unparseable', 'unavailable', 'expired'] as const;
/**
 * - `too_large`: the message is larger than MESSAGE_PARSE_MAX_BYTES.
 * - `unparseable`: the MIME parser gave up on it.
 * - `unavailable`: it could not be read (expunged meanwhile, the connection failed during the
 *   download, or the subscription was created while the poll that announced it ran).
 * - `expired`: the stored content was gone when the delivery was attempted (a manual retry after
 *   the event's deliveries ended, or a delivery pending past the content's lifetime).
 */
export type ContentOmittedReason = (typeof CONTENT_OMITTED_REASONS)[number];

/** text and html: the most UTF-8 bytes kept of each. */
export const MAX_BODY_BYTES = 256 * 1024;
/** headers and attachments: the most bytes of JSON kept of each list. */
export const MAX_LIST_BYTES = 64 * 1024;
export const MAX_ATTACHMENTS = 100;

export interface ContentHeader {
  name: string;
  value: string;
}

/** An attachment's metadata as the parsed message lists it (ParsedMessage['attachments']). */
export type ContentAttachment = ParsedMessage['attachments'][number];

export interface MessageContent {
  text: string | null;
  textTruncated: boolean;
  html: string | null;
  htmlTruncated: boolean;
  headers: ContentHeader[];
  headersTruncated: boolean;
  attachments: ContentAttachment[];
  attachmentsTruncated: boolean;
}

/** What a message.received event carries for its consumers that asked for content. */
export type EventContent = { ok: true; content: MessageContent } | { ok: false; omitted: ContentOmittedReason };

/**
 * `value` cut to at most `maxBytes` bytes of UTF-8, at a character boundary. Only the first
 * `maxBytes` UTF-16 units are encoded (each is at least one byte), not the whole string. A surrogate
 * pair split by that slice encodes as U+FFFD at the end, past the limit, and is cut with the rest.
 */
export function cutUtf8(value: string, maxBytes: number): { value: string; truncated: boolean } {
  if (value.length <= maxBytes / 3) return { value, truncated: false };
  const head = Buffer.from(value.slice(0, maxBytes), 'utf8');
  if (head.length <= maxBytes && value.length <= maxBytes) return { value, truncated: false };
  let end = Math.min(maxBytes, head.length);
  // A continuation byte (10xxxxxx) at the cut: the character it belongs to starts before, drop it whole.
  while (end > 0 && end < head.length && (head[end]! & 0xc0) === 0x80) end -= 1;
  return { value: head.subarray(0, end).toString('utf8'), truncated: true };
}

/** The leading items of `list` whose JSON fits in `maxBytes` (and at most `maxItems`). */
function leading<T>(list: readonly T[], maxBytes: number, maxItems: number): { items: T[]; truncated: boolean } {
  const items: T[] = [];
  let bytes = 2;
  for (const item of list) {
    if (items.length >= maxItems) break;
    bytes += Buffer.byteLength(JSON.stringify(item)) + 1;
    if (bytes > maxBytes) break;
    items.push(item);
  }
  return { items, truncated: items.length < list.length };
}

function body(value: string | null): { value: string | null; truncated: boolean } {
  return value === null ? { value: null, truncated: false } : cutUtf8(value, MAX_BODY_BYTES);
}

/** The bounded content of a parsed message. */
export function messageContent(parsed: Pick<ParsedMessage, 'text' | 'html' | 'headers' | 'headersTruncated' | 'attachments'>): MessageContent {
  const text = body(parsed.text);
  const html = body(parsed.html);
  const headers = leading(parsed.headers.map(({ name, value }) => ({ name, value })), MAX_LIST_BYTES, Number.MAX_SAFE_INTEGER);
  const attachments = leading(parsed.attachments, MAX_LIST_BYTES, MAX_ATTACHMENTS);
  return {
    text: text.value,
    textTruncated: text.truncated,
    html: html.value,
    htmlTruncated: html.truncated,
    headers: headers.items,
    headersTruncated: parsed.headersTruncated || headers.truncated,
    attachments: attachments.items,
    attachmentsTruncated: attachments.truncated,
  };
}
