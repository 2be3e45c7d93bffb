/**
 * A JSON body whose long base64 strings are decoded as the body streams in.
 *
 * A message's attachments arrive as base64 inside JSON: 20 MB of file is 27 MB of text. Parsed
 * the usual way the API held the body, the parsed string and the decoded bytes at once (and more
 * while they were copied): about 400 MB of a process for one such request. Here the body is
 * scanned byte by byte as it arrives; a string that is at least `minLength` characters of
 * canonical base64 is decoded chunk by chunk into bytes, and the JSON text keeps only a
 * placeholder for it. Everything else (the rest of the JSON grammar) is left to JSON.parse,
 * which sees a small document.
 *
 * What is lifted, and what is not:
 * - Only strings of base64 characters (an escaped `\/` counts as `/`, as some encoders write it)
 *   become candidates; a string with any other character, escape or an `=` before its end stays
 *   text. A candidate that turns out not to be canonical base64 (a stray character after the
 *   first `minLength`, padding in the middle, non-zero padding bits, a length not a multiple of
 *   4) is put back as the text it was: the bytes decoded so far encode back to exactly the
 *   characters read, so nothing is lost.
 * - A placeholder is `\u0000<nonce>:<n>`: a NUL cannot come from a client's JSON without an
 *   escape, and the nonce is random per request, so a client cannot forge one.
 * - After JSON.parse, `restore` puts back every lifted string at a place the caller does not
 *   want bytes for (a key, a `text` that happened to be base64): the caller's predicate decides
 *   by the value's path. Object keys named `__proto__` are refused, as Fastify's parser does.
 */
import { AppError } from '../errors/errors.js';

const invalidJson = (detail: string, cause?: unknown): AppError => new AppError('invalid_json', detail, cause === undefined ? {} : { cause });

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const EQUALS = 0x3d;

/** The next character that is not standard base64 (padding included). */
const NOT_BASE64 = /[^A-Za-z0-9+/]/g;

/** 1 for the characters of standard base64 (no padding). */
const BASE64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64[c.charCodeAt(0)] = 1;

/** Decoded bytes of a lifted string, in the chunks they were decoded in. */
export interface LiftedBytes {
  readonly chunks: Buffer[];
  readonly length: number;
}

/** A path in the parsed document: keys and array indexes. */
export type JsonPath = readonly (string | number)[];

const quoted = (text: string): Buffer => Buffer.from(`"${text}"`, 'latin1');
const OPEN = Buffer.from('"');

/** Decodes base64 characters fed in pieces; keeps the last partial group. */
class Base64Decoder {
  readonly chunks: Buffer[] = [];
  length = 0;
  private carry = '';
  private padding = 0;

  feed(text: string): void {
    let rest = text;
    if (this.carry.length > 0) {
      // Complete the partial group first, so the rest is decoded without joining strings.
      const need = 4 - this.carry.length;
      if (rest.length < need) {
        this.carry += rest;
        return;
      }
      this.push(Buffer.from(this.carry + rest.slice(0, need), 'base64'));
      rest = rest.slice(need);
    }
    const whole = rest.length - (rest.length % 4);
    if (whole > 0) this.push(Buffer.from(whole === rest.length ? rest : rest.slice(0, whole), 'base64'));
    this.carry = rest.slice(whole);
  }

  /** An `=`: only at the end, at most two, completing the last group. */
  pad(): boolean {
    if (this.padding === 2 || this.carry.length + this.padding >= 4) return false;
    this.padding++;
    return true;
  }

  /** Whether a padding character came (nothing but `=` or the end may follow). */
  get padded(): boolean {
    return this.padding > 0;
  }

  /** Ends the string: true when all of it was canonical base64 (re-encoding gives the same text). */
  finish(): boolean {
    if (this.padding === 0) return this.carry.length === 0;
    const group = this.carry + '='.repeat(this.padding);
    if (group.length !== 4) return false;
    const bytes = Buffer.from(group, 'base64');
    if (bytes.toString('base64') !== group) return false;
    this.carry = '';
    this.push(bytes);
    return true;
  }

  /** The characters read so far, exactly (canonical groups encode back to themselves). */
  text(): string {
    return Buffer.concat(this.chunks).toString('base64') + this.carry + '='.repeat(this.padding);
  }

  private push(bytes: Buffer): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
}

type Mode = 'outside' | 'text' | 'maybe' | 'lifted';

/** Feeds a body's chunks in order; `end()` answers the small JSON text and the lifted strings. */
export class LiftingScanner {
  private readonly out: Buffer[] = [];
  private mode: Mode = 'outside';
  private escaped = false;
  /** A candidate's raw bytes (without its opening quote) and how many characters they are. */
  private pending: Buffer[] = [];
  private pendingChars = 0;
  private decoder: Base64Decoder | null = null;
  private count = 0;
  readonly parts = new Map<string, LiftedBytes>();

  constructor(private readonly minLength: number, private readonly nonce: string) {}

  write(chunk: Buffer): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      switch (this.mode) {
        case 'outside':
          if (byte === QUOTE) {
            this.out.push(chunk.subarray(start, i));
            this.mode = 'maybe';
            this.pending = [];
            this.pendingChars = 0;
            start = i + 1;
          }
          break;
        case 'text':
          if (this.escaped) this.escaped = false;
          else if (byte === BACKSLASH) this.escaped = true;
          else if (byte === QUOTE) this.mode = 'outside';
          break;
        case 'maybe': {
          const counted = this.escaped ? byte === SLASH : BASE64[byte] === 1;
          if (this.escaped) this.escaped = false;
          else if (byte === BACKSLASH) {
            this.escaped = true;
            break;
          } else if (byte === QUOTE) {
            // A short string: back as it was, quotes and all.
            this.out.push(OPEN, ...this.pending, chunk.subarray(start, i + 1));
            this.pending = [];
            this.mode = 'outside';
            start = i + 1;
            break;
          }
          if (!counted) {
            this.abandon(chunk, start, i + 1);
            start = i + 1;
          } else if (++this.pendingChars >= this.minLength) {
            this.commit(chunk.subarray(start, i + 1));
            start = i + 1;
          }
          break;
        }
        case 'lifted':
          i = this.readLifted(chunk, i);
          start = i + 1;
          break;
      }
    }
    if (start < chunk.length) {
      if (this.mode === 'maybe') this.pending.push(chunk.subarray(start));
      else if (this.mode !== 'lifted') this.out.push(chunk.subarray(start));
    }
  }

  /** The JSON text with placeholders (throws invalid JSON for a body cut inside a string). */
  end(): string {
    if (this.mode === 'lifted' || this.mode === 'maybe' || this.mode === 'text') {
      throw invalidJson('The request body is not valid JSON: it ends inside a string.');
    }
    return Buffer.concat(this.out).toString('utf8');
  }

  /**
   * Reads a lifted string from `from` on: base64 runs go to the decoder; the closing quote ends
   * it with a placeholder; anything else puts it back as text. Answers the last index consumed.
   */
  private readLifted(chunk: Buffer, from: number): number {
    const decoder = this.decoder!;
    // The chunk as text once (latin1: a character per byte), searched by a regular expression for
    // the next byte that is not base64, instead of a look at every byte.
    const text = chunk.toString('latin1', from);
    const feed = (start: number, end: number): void => {
      if (start < end) decoder.feed(text.slice(start - from, end - from));
    };
    let run = from;
    for (let i = from; i < chunk.length; i++) {
      if (!this.escaped && !decoder.padded) {
        NOT_BASE64.lastIndex = i - from;
        const match = NOT_BASE64.exec(text);
        if (!match) break;
        i = match.index + from;
      }
      const byte = chunk[i]!;
      if (this.escaped) {
        this.escaped = false;
        if (byte === SLASH && !decoder.padded) {
          decoder.feed('/');
          run = i + 1;
          continue;
        }
        this.demote(Buffer.from([BACKSLASH, byte]));
        return i;
      }
      if (BASE64[byte] === 1 && !decoder.padded) continue;
      feed(run, i);
      run = i + 1;
      if (byte === BACKSLASH) {
        this.escaped = true;
      } else if (byte === EQUALS) {
        if (!decoder.pad()) {
          this.demote(chunk.subarray(i, i + 1));
          return i;
        }
      } else if (byte === QUOTE) {
        if (!decoder.finish()) {
          this.demote(chunk.subarray(i, i + 1));
          this.mode = 'outside';
          return i;
        }
        const name = `\u0000${this.nonce}:${this.count++}`;
        this.parts.set(name, { chunks: decoder.chunks, length: decoder.length });
        this.out.push(quoted(`\\u0000${this.nonce}:${this.count - 1}`));
        this.decoder = null;
        this.mode = 'outside';
        return i;
      } else {
        this.demote(chunk.subarray(i, i + 1));
        return i;
      }
    }
    feed(run, chunk.length);
    return chunk.length - 1;
  }

  /** A candidate long enough: decode what it held and go on decoding. */
  private commit(last: Buffer): void {
    this.pending.push(last);
    const text = Buffer.concat(this.pending).toString('latin1').replaceAll('\\/', '/');
    this.pending = [];
    this.decoder = new Base64Decoder();
    this.decoder.feed(text);
    this.mode = 'lifted';
  }

  /** A candidate that is text after all, before it was lifted: its bytes go out as they came. */
  private abandon(chunk: Buffer, start: number, end: number): void {
    this.out.push(OPEN, ...this.pending, chunk.subarray(start, end));
    this.pending = [];
    this.mode = 'text';
  }

  /** A lifted string that is text after all: what was read goes out again, then `tail`. */
  private demote(tail: Buffer): void {
    const text = this.decoder!.text();
    this.decoder = null;
    this.out.push(Buffer.from(`"${text}`, 'latin1'), tail);
    const last = tail[tail.length - 1];
    // The tail's last byte is read as text from here: a quote ended the string, a backslash escapes.
    this.mode = 'text';
    this.escaped = false;
    if (tail.length === 1 && last === QUOTE) this.mode = 'outside';
    else if (tail.length === 1 && last === BACKSLASH) this.escaped = true;
  }
}

/**
 * Parses the scanner's text and puts back, as base64 text, every lifted string whose path
 * `keep` refuses (and every lifted key). Throws invalid_json for malformed JSON or a
 * `__proto__` key. Deletes the put-back strings from `parts`.
 */
export function parseLifted(text: string, parts: Map<string, LiftedBytes>, keep: (path: JsonPath) => boolean): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidJson('The request body is not valid JSON.', err);
  }
  if (parts.size === 0 && !text.includes('__proto__')) return value;
  return walk(value, [], parts, keep, 0);
}

const MAX_DEPTH = 64;

function restore(text: string, parts: Map<string, LiftedBytes>): string {
  const lifted = parts.get(text);
  if (!lifted) return text;
  parts.delete(text);
  return Buffer.concat(lifted.chunks).toString('base64');
}

function walk(value: unknown, path: (string | number)[], parts: Map<string, LiftedBytes>, keep: (path: JsonPath) => boolean, depth: number): unknown {
  if (depth > MAX_DEPTH) throw invalidJson(`The request body nests deeper than ${MAX_DEPTH} levels.`);
  if (typeof value === 'string') return value.charCodeAt(0) === 0 && !keep(path) ? restore(value, parts) : value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = walk(value[i], [...path, i], parts, keep, depth + 1);
    return value;
  }
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (key === '__proto__') throw invalidJson('The request body has a "__proto__" key.');
    const name = key.charCodeAt(0) === 0 ? restore(key, parts) : key;
    const item = walk(object[key], [...path, name], parts, keep, depth + 1);
    if (name !== key) {
      delete object[key];
      if (name === '__proto__') throw invalidJson('The request body has a "__proto__" key.');
    }
    object[name] = item;
  }
  return value;
}
