/**
 * MSAL cache partitions in Redis, each an AES-256-GCM envelope bound to its
 * partition name. App-only partitions live as long as their token; delegated
 * ones as long as a refresh token can (90 days of inactivity, plus margin).
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { CachePartitionStore } from '../adapters/msal/cache-plugin.js';
import type { Cipher } from '../crypto/envelope.js';
import type { KeySpace } from './keys.js';

const APP_TTL_SECONDS = 2 * 60 * 60;
const DELEGATED_TTL_SECONDS = 100 * 24 * 60 * 60;

export class TokenCacheStore implements CachePartitionStore {
  constructor(private readonly redis: Redis, private readonly keys: KeySpace, private readonly cipher: Cipher) {}

  async read(partition: string): Promise<string | undefined> {
    const raw = await this.redis.get(this.keys.tokenCache(partition));
    return raw === null ? undefined : this.cipher.decryptText(raw, `msal:${partition}`);
  }

  async write(partition: string, serialized: string): Promise<void> {
    const ttl = partition.startsWith('app:') ? APP_TTL_SECONDS : DELEGATED_TTL_SECONDS;
    await this.redis.set(this.keys.tokenCache(partition), this.cipher.encrypt(serialized, `msal:${partition}`), 'EX', ttl);
  }

  async delete(partition: string): Promise<void> {
    await this.redis.del(this.keys.tokenCache(partition));
  }
}
