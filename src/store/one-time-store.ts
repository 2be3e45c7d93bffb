/**
 * Short-lived records that may be used once: sign-ins in progress (keyed by
 * their OAuth `state`) and verified sign-ins awaiting exchange (keyed by
 * their login code).
 *
 * - The key holds the SHA-256 of the secret, never the secret: reading Redis
 *   (or its keyspace notifications) does not yield a usable state or code.
 * - The value is an AES-256-GCM envelope bound to the key's digest, so a
 *   record copied under another key does not decrypt.
 * - `take` is GETDEL: of two concurrent callers exactly one gets the record;
 *   a replay, and a record past its TTL, find nothing. `peek` only reads.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../adapters/redis/redis.js';
import type { Cipher } from '../crypto/envelope.js';
import { DecryptionError } from '../errors/errors.js';

export interface OneTimeStoreOptions {
  redis: Redis;
  cipher: Cipher;
  /** The Redis key of a record, from the digest of its secret. */
  key: (digest: string) => string;
  /** Names the kind of record in the encryption's associated data. */
  purpose: string;
  ttlSeconds: number;
}

export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

export class OneTimeStore<T> {
  constructor(private readonly options: OneTimeStoreOptions) {}

  private aad(digest: string): string {
    return `${this.options.purpose}:${digest}`;
  }

  async put(secret: string, value: T): Promise<void> {
    const { redis, cipher, key, ttlSeconds } = this.options;
    const digest = secretDigest(secret);
    const stored = await redis.set(key(digest), cipher.encrypt(JSON.stringify(value), this.aad(digest)), 'EX', ttlSeconds, 'NX');
    // Secrets are 256 random bits: a collision means a broken random source, not bad luck.
    if (stored !== 'OK') throw new Error(`${this.options.purpose} record already exists`);
  }

  /** The record, deleted in the same step; undefined when unknown, expired or already taken. */
  async take(secret: string): Promise<T | undefined> {
    const digest = secretDigest(secret);
    return this.open(digest, await this.options.redis.getdel(this.options.key(digest)));
  }

  /**
   * The record, left in place: for a check that must be able to refuse without using the record up
   * (a sign-in's browser binding). Whoever acts on the record still takes it.
   */
  async peek(secret: string): Promise<T | undefined> {
    const digest = secretDigest(secret);
    return this.open(digest, await this.options.redis.get(this.options.key(digest)));
  }

  private open(digest: string, raw: string | null): T | undefined {
    if (raw === null) return undefined;
    try {
      return JSON.parse(this.options.cipher.decryptText(raw, this.aad(digest))) as T;
    } catch (err) {
      // Written under a key since retired: as good as expired (the user starts again).
      if (err instanceof DecryptionError) return undefined;
      throw err;
    }
  }
}
