/**
 * Which encryption keys wrote what is stored: the key ids of the envelopes
 * (crypto/envelope.ts) in a bounded sample of the records. Read at start and
 * now and then by the encryption-keys readiness check (roles/encryption-keys.ts).
 *
 * The sample: every connection and webhook subscription up to `records` of
 * each (their JSON holds the client secret's and the signing secrets'
 * envelopes; there are few of them), and the delegated token caches of the
 * first `tokenCaches` mailboxes (one GET each, in their own hash slots).
 * A key changed without ENCRYPTION_KEY_PREVIOUS shows in all of them at once,
 * so the sample need not be complete to catch it; it must stay cheap, since
 * a readiness probe may run it.
 */
import type { Redis } from '../adapters/redis/redis.js';
import { envelopeKeyIds } from '../crypto/envelope.js';
import type { KeySpace } from './keys.js';

export interface StoredKeyIdOptions {
  redis: Redis;
  keys: KeySpace;
  /** The token cache partition of a mailbox's delegated sign-in. */
  mailboxPartition: (mailboxId: string) => string;
  /** Connections, and webhook subscriptions, read at most. @defaultValue 1 000 */
  records?: number;
  /** Mailbox token caches read at most. @defaultValue 100 */
  tokenCaches?: number;
}

/** Key id → how many sampled values it wrote. */
export type KeyIdCounts = Map<string, number>;

async function recordsOf(redis: Redis, index: string, recordKey: (id: string) => string, limit: number): Promise<(string | null)[]> {
  const ids = await redis.zrange(index, '0', String(limit - 1));
  // The control plane shares one hash tag: one MGET, on a cluster too.
  return ids.length === 0 ? [] : redis.mget(ids.map(recordKey));
}

export async function storedKeyIds(options: StoredKeyIdOptions): Promise<KeyIdCounts> {
  const { redis, keys } = options;
  const records = options.records ?? 1_000;
  const mailboxIds = await redis.zrange(keys.mailboxes(), '0', String((options.tokenCaches ?? 100) - 1));
  const values = (await Promise.all([
    recordsOf(redis, keys.connections(), keys.connection, records),
    recordsOf(redis, keys.webhooks(), keys.webhook, records),
    // Token caches live in a slot each: separate GETs. App-only mailboxes have none (a null).
    Promise.all(mailboxIds.map((id) => redis.get(keys.tokenCache(options.mailboxPartition(id))))),
  ])).flat();
  const counts: KeyIdCounts = new Map();
  for (const value of values) {
    if (value === null) continue;
    for (const id of envelopeKeyIds(value)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
