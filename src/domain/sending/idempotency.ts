/**
 * Idempotency-Key helpers. "The same body" means the same JSON value: key
 * order and whitespace do not matter, anything else does (an absent `cc` and
 * `cc: []` are different bodies). The body is hashed in canonical form
 * (object keys sorted, JSON.stringify for the leaves), streamed into the
 * hash so a 34 MB body is not copied once more.
 *
 * The hash a claim keeps in Redis for a day is an HMAC-SHA-256 under a key
 * derived from ENCRYPTION_KEY (crypto/subkeys.ts, info "mailsync
 * idempotency"), not a plain SHA-256: a templated message differs from its
 * neighbours by a short code, and whoever reads Redis could otherwise find
 * the code by hashing every candidate body. The claim names the key it was
 * made with (`<key id>.<HMAC>`), so after a rotation a claim made under
 * the previous key (still in ENCRYPTION_KEY_PREVIOUS) is still recognised.
 */
import { createHash, createHmac, hash, timingSafeEqual, type Hash, type Hmac, type KeyObject } from 'node:crypto';
import type { KeyRing } from '../../crypto/subkeys.js';
import { NO_DECODED_PARTS, type MessageParts } from './parts.js';

/** HKDF info of the key that hashes bodies: never reuse it for another purpose. */
export const IDEMPOTENCY_KEY_INFO = 'mailsync idempotency';

/** Claims expire after a day: a retry later than that is a new message. */
export const IDEMPOTENCY_TTL_SECONDS = 86_400;

/** Small pieces are gathered into one update (a call into the hash per `,` costs more than hashing it). */
const FLUSH_CHARS = 16_384;

class Feeder {
  private pending = '';

  constructor(private readonly hash: Hash | Hmac) {}

  add(text: string): void {
    if (text.length >= FLUSH_CHARS) {
      this.flush();
      this.hash.update(text, 'utf8');
      return;
    }
    this.pending += text;
    if (this.pending.length >= FLUSH_CHARS) this.flush();
  }

  flush(): void {
    if (this.pending.length > 0) this.hash.update(this.pending, 'utf8');
    this.pending = '';
  }
}

// A field decoded as it arrived (parts.ts) is hashed as the base64 text it came as (base64 needs no
// JSON escapes), so the hash of a body does not depend on how the HTTP layer read it.
function feed(out: Feeder, value: unknown, parts: MessageParts): void {
  if (Array.isArray(value)) {
    out.add('[');
    value.forEach((item, i) => {
      if (i > 0) out.add(',');
      feed(out, item, parts);
    });
    out.add(']');
  } else if (value !== null && typeof value === 'object') {
    out.add('{');
    Object.keys(value).sort().forEach((key, i) => {
      out.add(i > 0 ? `,${JSON.stringify(key)}:` : `${JSON.stringify(key)}:`);
      feed(out, (value as Record<string, unknown>)[key], parts);
    });
    out.add('}');
  } else if (typeof value === 'string' && parts.isDecoded(value)) {
    out.add('"');
    for (const piece of parts.base64(value)) out.add(piece);
    out.add('"');
  } else {
    out.add(JSON.stringify(value) ?? 'null');
  }
}

function digestOf(digest: Hash | Hmac, body: unknown, parts: MessageParts): string {
  const feeder = new Feeder(digest);
  feed(feeder, body, parts);
  feeder.flush();
  return digest.digest('base64url');
}

/** HMAC-SHA-256 (base64url) of the canonical JSON of a request body under `key`. */
export function bodyMac(body: unknown, key: KeyObject, parts: MessageParts = NO_DECODED_PARTS): string {
  return digestOf(createHmac('sha256', key), body, parts);
}

/**
 * SHA-256 (base64url) of the canonical JSON: what claims held before the HMAC. Only read, to
 * recognise such a claim in the 24 hours after an upgrade; never written. Remove it a release later.
 */
function legacyBodyHash(body: unknown, parts: MessageParts): string {
  return digestOf(createHash('sha256'), body, parts);
}

function sameText(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The body hash of a claim: made under the current key, compared under the key a claim names. */
export class BodyHasher {
  constructor(private readonly keys: KeyRing) {}

  /** `<key id>.<HMAC>` of the body under the current key: what a new claim stores. Computed once per request. */
  hash(body: unknown, parts: MessageParts = NO_DECODED_PARTS): string {
    return `${this.keys.currentId}.${bodyMac(body, this.keys.current, parts)}`;
  }

  /**
   * Whether a stored claim's hash is of this body. `fresh` is `hash(body)`, already computed: a claim
   * under the current key costs no second pass over the body; one under a previous key (the day
   * after a rotation) or a legacy one (the day after the upgrade) costs one, on a retry only.
   * A claim under a key no longer configured matches nothing.
   */
  matches(stored: string, fresh: string, body: unknown, parts: MessageParts = NO_DECODED_PARTS): boolean {
    if (sameText(stored, fresh)) return true;
    const dot = stored.indexOf('.');
    if (dot === -1) return sameText(stored, legacyBodyHash(body, parts));
    const id = stored.slice(0, dot);
    const key = id === this.keys.currentId ? undefined : this.keys.key(id);
    return key !== undefined && sameText(stored.slice(dot + 1), bodyMac(body, key, parts));
  }
}

/** The Redis name of a key: its SHA-256, so any client string makes a tame key. */
export function idempotencyKeyDigest(key: string): string {
  return hash('sha256', key, 'base64url');
}
