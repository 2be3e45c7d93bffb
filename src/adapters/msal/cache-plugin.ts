/**
 * MSAL's token cache, kept in Redis, encrypted, one partition per
 * (authority, client) for app-only tokens and per mailbox for delegated ones.
 * MSAL calls `beforeCacheAccess` before every token operation (client
 * credentials too) and `afterCacheAccess` after it; we load the partition
 * and write it back only when MSAL changed it.
 */
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';

export interface CachePartitionStore {
  read(partition: string): Promise<string | undefined>;
  write(partition: string, serialized: string): Promise<void>;
}

export function redisCachePlugin(store: CachePartitionStore, partition: string): ICachePlugin {
  return {
    async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
      const serialized = await store.read(partition);
      if (serialized) context.tokenCache.deserialize(serialized);
    },
    async afterCacheAccess(context: TokenCacheContext): Promise<void> {
      if (context.cacheHasChanged) await store.write(partition, context.tokenCache.serialize());
    },
  };
}
