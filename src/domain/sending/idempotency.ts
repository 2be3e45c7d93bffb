/**
 * Idempotency-Key helpers. "The same body" means the same JSON value: key
 * order and whitespace do not matter, anything else does (an absent `cc` and
 * `cc: []` are different bodies). The body is hashed in canonical form
 * (object keys sorted, JSON.stringify for the leaves), streamed into the
 * hash so a 34 MB body is not copied once more.
 */
import { createHash, type Hash } from 'node:crypto';

/** Claims expire after a day: a retry later than that is a new message. */
export const IDEMPOTENCY_TTL_SECONDS = 86_400;

function feed(hash: Hash, value: unknown): void {
  if (Array.isArray(value)) {
    hash.update('[');
    value.forEach((item, i) => {
      if (i > 0) hash.update(',');
      feed(hash, item);
    });
    hash.update(']');
  } else if (value !== null && typeof value === 'object') {
    hash.update('{');
    Object.keys(value).sort().forEach((key, i) => {
      if (i > 0) hash.update(',');
      hash.update(JSON.stringify(key));
      hash.update(':');
      feed(hash, (value as Record<string, unknown>)[key]);
    });
    hash.update('}');
  } else {
    hash.update(JSON.stringify(value) ?? 'null');
  }
}

/** SHA-256 (base64url) of the canonical JSON of a request body. */
export function bodyHash(body: unknown): string {
  const hash = createHash('sha256');
  feed(hash, body);
  return hash.digest('base64url');
}

/** The Redis name of a key: its SHA-256, so any client string makes a tame key. */
export function idempotencyKeyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('base64url');
}
