/**
 * Idempotency-Key helpers. "The same body" means the same JSON value: key
 * order and whitespace do not matter, anything else does (an absent `cc` and
 * `cc: []` are different bodies). The body is hashed in canonical form
 * (object keys sorted, JSON.stringify for the leaves), streamed into the
 * hash so a 34 MB body is not copied once more.
 */
import { createHash, hash, type Hash } from 'node:crypto';

/** Claims expire after a day: a retry later than that is a new message. */
export const IDEMPOTENCY_TTL_SECONDS = 86_400;

/** Small pieces are gathered into one update (a call into the hash per `,` costs more than hashing it). */
const FLUSH_CHARS = 16_384;

class Feeder {
  private pending = '';

  constructor(private readonly hash: Hash) {}

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

function feed(out: Feeder, value: unknown): void {
  if (Array.isArray(value)) {
    out.add('[');
    value.forEach((item, i) => {
      if (i > 0) out.add(',');
      feed(out, item);
    });
    out.add(']');
  } else if (value !== null && typeof value === 'object') {
    out.add('{');
    Object.keys(value).sort().forEach((key, i) => {
      out.add(i > 0 ? `,${JSON.stringify(key)}:` : `${JSON.stringify(key)}:`);
      feed(out, (value as Record<string, unknown>)[key]);
    });
    out.add('}');
  } else {
    out.add(JSON.stringify(value) ?? 'null');
  }
}

/** SHA-256 (base64url) of the canonical JSON of a request body. */
export function bodyHash(body: unknown): string {
  const digest = createHash('sha256');
  const feeder = new Feeder(digest);
  feed(feeder, body);
  feeder.flush();
  return digest.digest('base64url');
}

/** The Redis name of a key: its SHA-256, so any client string makes a tame key. */
export function idempotencyKeyDigest(key: string): string {
  return hash('sha256', key, 'base64url');
}
