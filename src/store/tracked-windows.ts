/**
 * The tracked windows (issue 16, domain/polling/tracking.ts) in Redis: one
 * string per mailbox folder, never a key per message.
 *
 * Encoding (format 2), then raw DEFLATE:
 *   byte 2 (format), byte options (bit 0: Message-IDs kept), varint uidValidity, varint since (s),
 *   varint version, varint count,
 *   per message: varint UID delta from the previous one (the first from 0), byte flag code
 *   (bit 5 set: a keyword digest byte follows), and when Message-IDs are kept: varint Message-ID
 *   length + 1 (0: none), its bytes.
 * Format 1 (before windows without Message-IDs) had no options byte and always kept them; it is
 * still read.
 *
 * Format 3 (now written) keeps a header outside the DEFLATEd part, so a poll reads the header
 * alone (GETRANGE) to tell whether its searches see the window unchanged (tracking.ts
 * WindowSummary): byte 6 (never the first byte of a DEFLATE stream: block type 3 is invalid),
 * byte options, varints uidValidity, since, version, checkedAt, the lowest UID, the 22 characters
 * of the window's digest; then raw DEFLATE of: varint count, the messages as in format 2.
 * UIDs of a folder's newest messages are close together: a delta is one byte; flags one or two.
 * The Message-IDs are most of the size (see the README's numbers); DEFLATE shares their common
 * parts (the sending host's domain).
 *
 * A window not polled for WINDOW_TTL_MS lapses: a mailbox that stopped tracking, a folder
 * no longer watched. A lapsed or unreadable window only means a new baseline.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Redis } from '../adapters/redis/redis.js';
import type { TrackedWindows } from '../domain/polling/ports.js';
import { windowDigest, type TrackedMessage, type TrackedWindow, type WindowSummary } from '../domain/polling/tracking.js';

const FORMAT = 2;
const FORMAT_ALWAYS_IDS = 1;
const FORMAT_HEADED = 6;
const DIGEST_LENGTH = 22;
/** Bytes read for a summary: the longest header (7 bytes and 5 varints of 5 bytes and the digest) fits. */
const SUMMARY_BYTES = 64;
const KEEPS_IDS = 1;
const HAS_KEYWORDS = 32;
/** Two weeks: far longer than the longest poll interval (a day). */
export const WINDOW_TTL_MS = 14 * 86_400_000;
/** Largest window accepted when decoding (the API's maximum); a larger count is a corrupt value. */
const MAX_COUNT = 10_000;
/** Largest inflated value accepted: 10,000 messages of 255-byte Message-IDs and a few bytes more. */
const MAX_INFLATED = MAX_COUNT * 270 + 64;

class Writer {
  private readonly chunks: Buffer[] = [];
  private current = Buffer.alloc(4096);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.current.length) return;
    this.chunks.push(this.current.subarray(0, this.at));
    this.current = Buffer.alloc(Math.max(4096, n));
    this.at = 0;
  }

  byte(value: number): void {
    this.room(1);
    this.current[this.at++] = value & 0xff;
  }

  varint(value: number): void {
    let v = value;
    this.room(5);
    while (v >= 0x80) {
      this.current[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.current[this.at++] = v;
  }

  bytes(value: Buffer): void {
    this.room(value.length);
    value.copy(this.current, this.at);
    this.at += value.length;
  }

  done(): Buffer {
    return Buffer.concat([...this.chunks, this.current.subarray(0, this.at)]);
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  get offset(): number {
    return this.at;
  }

  byte(): number {
    if (this.at >= this.buf.length) throw new RangeError('tracked window truncated');
    return this.buf[this.at++]!;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i += 1) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    throw new RangeError('tracked window varint too long');
  }

  bytes(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new RangeError('tracked window truncated');
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

function writeMessages(w: Writer, window: TrackedWindow): void {
  let last = 0;
  for (const message of window.messages) {
    w.varint(message.uid - last);
    last = message.uid;
    w.byte(message.code | (message.keywords ? HAS_KEYWORDS : 0));
    if (message.keywords) w.byte(message.keywords);
    if (!window.messageIds) continue;
    if (message.messageId === null) {
      w.varint(0);
    } else {
      const id = Buffer.from(message.messageId, 'utf8');
      w.varint(id.length + 1);
      w.bytes(id);
    }
  }
}

function readMessages(r: Reader, count: number, messageIds: boolean): TrackedMessage[] {
  if (count > MAX_COUNT) throw new RangeError('tracked window too large');
  const messages: TrackedMessage[] = [];
  let uid = 0;
  for (let i = 0; i < count; i += 1) {
    const delta = r.varint();
    if (delta === 0 && i > 0) throw new RangeError('tracked window UIDs not ascending');
    uid += delta;
    const flags = r.byte();
    const keywords = flags & HAS_KEYWORDS ? r.byte() : 0;
    const length = messageIds ? r.varint() : 0;
    const messageId = length === 0 ? null : r.bytes(length - 1).toString('utf8');
    messages.push({ uid, code: flags & ~HAS_KEYWORDS, keywords, messageId });
  }
  return messages;
}

export function encodeWindow(window: TrackedWindow): Buffer {
  const head = new Writer();
  head.byte(FORMAT_HEADED);
  head.byte(window.messageIds ? KEEPS_IDS : 0);
  head.varint(window.uidValidity);
  head.varint(window.since);
  head.varint(window.version);
  head.varint(window.checkedAt);
  head.varint(window.messages[0]?.uid ?? 0);
  head.bytes(Buffer.from(windowDigest(window.messages), 'ascii'));
  const body = new Writer();
  body.varint(window.messages.length);
  writeMessages(body, window);
  return Buffer.concat([head.done(), deflateRawSync(body.done())]);
}

interface Header extends WindowSummary {
  version: number;
  /** Where the DEFLATEd messages start. */
  end: number;
}

function readHeader(value: Buffer): Header {
  const r = new Reader(value);
  if (r.byte() !== FORMAT_HEADED) throw new RangeError('tracked window without a header');
  const options = r.byte();
  if (options & ~KEEPS_IDS) throw new RangeError('tracked window of unknown options');
  const uidValidity = r.varint();
  const since = r.varint();
  const version = r.varint();
  const checkedAt = r.varint();
  const low = r.varint();
  const digest = r.bytes(DIGEST_LENGTH).toString('ascii');
  return { uidValidity, since, version, checkedAt, low, digest, messageIds: (options & KEEPS_IDS) !== 0, end: r.offset };
}

/** The header of a stored window's first bytes; throws on anything else (a window of an older format has none). */
export function decodeSummary(prefix: Buffer): WindowSummary {
  const { version: _version, end: _end, ...summary } = readHeader(prefix);
  return summary;
}

/** The window in `value`; throws on anything that is not one (the caller treats it as none). */
export function decodeWindow(value: Buffer): TrackedWindow {
  if (value[0] === FORMAT_HEADED) {
    const header = readHeader(value);
    const r = new Reader(inflateRawSync(value.subarray(header.end), { maxOutputLength: MAX_INFLATED }));
    const messages = readMessages(r, r.varint(), header.messageIds);
    const { uidValidity, since, version, messageIds, checkedAt } = header;
    return { uidValidity, since, version, messageIds, checkedAt, messages };
  }
  const r = new Reader(inflateRawSync(value, { maxOutputLength: MAX_INFLATED }));
  const format = r.byte();
  if (format !== FORMAT && format !== FORMAT_ALWAYS_IDS) throw new RangeError('tracked window of an unknown format');
  const options = format === FORMAT ? r.byte() : KEEPS_IDS;
  if (options & ~KEEPS_IDS) throw new RangeError('tracked window of unknown options');
  const messageIds = (options & KEEPS_IDS) !== 0;
  const uidValidity = r.varint();
  const since = r.varint();
  const version = r.varint();
  const messages = readMessages(r, r.varint(), messageIds);
  return { uidValidity, since, version, messageIds, checkedAt: 0, messages };
}

export class RedisTrackedWindows implements TrackedWindows {
  constructor(
    private readonly redis: Redis,
    private readonly key: (mailboxId: string, folder: string) => string,
    private readonly onCorrupt: (err: unknown) => void = () => undefined,
  ) {}

  async load(mailboxId: string, folder: string): Promise<TrackedWindow | undefined> {
    // Reading a window keeps it (GETEX): an unchanged window is read at every poll, never saved.
    const value = await this.redis.getexBuffer(this.key(mailboxId, folder), 'PX', WINDOW_TTL_MS);
    if (!value) return undefined;
    try {
      return decodeWindow(value);
    } catch (err) {
      this.onCorrupt(err);
      return undefined;
    }
  }

  /**
   * The header of the stored window alone (its first bytes: GETRANGE, the TTL left as it is; a
   * full load keeps it), or undefined when there is none or it has no header (an older format).
   */
  async summary(mailboxId: string, folder: string): Promise<WindowSummary | undefined> {
    const prefix = await this.redis.getrangeBuffer(this.key(mailboxId, folder), 0, SUMMARY_BYTES - 1);
    if (!prefix || prefix.length === 0 || prefix[0] !== FORMAT_HEADED) return undefined;
    try {
      return decodeSummary(prefix);
    } catch (err) {
      this.onCorrupt(err);
      return undefined;
    }
  }

  async save(mailboxId: string, folder: string, window: TrackedWindow): Promise<void> {
    await this.redis.set(this.key(mailboxId, folder), encodeWindow(window), 'PX', WINDOW_TTL_MS);
  }

  async remove(mailboxId: string, folders: readonly string[]): Promise<void> {
    if (folders.length === 0) return;
    // One slot per mailbox (store/keys.ts): one DEL, on a cluster too.
    await this.redis.del(...folders.map((folder) => this.key(mailboxId, folder)));
  }

  /** The bytes Redis holds for one window's value (for the benchmark). */
  async size(mailboxId: string, folder: string): Promise<number> {
    return (await this.redis.strlen(this.key(mailboxId, folder))) ?? 0;
  }
}
