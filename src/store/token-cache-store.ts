/**
 * MSAL cache partitions in Redis, each an AES-256-GCM envelope bound to its
 * partition name. App-only partitions live as long as their token; delegated
 * ones as long as a refresh token can (90 days of inactivity, plus margin);
 * a delegated sign-in's staging partition, until it is checked.
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { CachePartitionStore } from '../adapters/msal/cache-plugin.js';
import type { Cipher } from '../crypto/envelope.js';
import type { KeySpace } from './keys.js';

const APP_TTL_SECONDS = 2 * 60 * 60;
const DELEGATED_TTL_SECONDS = 100 * 24 * 60 * 60;
/** A sign-in being checked (`signin:…`) is adopted or dropped within seconds; the TTL only cleans up after a crash. */
const STAGING_TTL_SECONDS = 15 * 60;

function ttlOf(partition: string): number {
  if (partition.startsWith('app:')) return APP_TTL_SECONDS;
  if (partition.startsWith('signin:')) return STAGING_TTL_SECONDS;
  return DELEGATED_TTL_SECONDS;
}

export class TokenCacheStore implements CachePartitionStore {
  constructor(private readonly redis: Redis, private readonly keys: KeySpace, private readonly cipher: Cipher) {}

  async read(partition: string): Promise<string | undefined> {
    const raw = await this.redis.get(this.keys.tokenCache(partition));
    return raw === null ? undefined : this.cipher.decryptText(raw, `msal:${partition}`);
  }

  async write(partition: string, serialized: string): Promise<void> {
    await this.redis.set(this.keys.tokenCache(partition), this.cipher.encrypt(serialized, `msal:${partition}`), 'EX', ttlOf(partition));
  }

  async delete(partition: string): Promise<void> {
    await this.redis.del(this.keys.tokenCache(partition));
  }
}
