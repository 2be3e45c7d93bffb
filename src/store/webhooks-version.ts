/**
 * The version of the webhook subscriptions: a counter every change bumps, so
 * each process can tell cheaply whether its snapshot of the subscriptions is
 * current (domain/webhooks/subscriptions.ts).
 */
import type { Redis } from '../adapters/redis/redis.js';

export interface WebhooksVersion {
  read(): Promise<string | null>;
  bump(): Promise<void>;
}

/** Functions, not methods: the domain passes `read` along on its own. */
export function webhooksVersion(redis: Redis, key: () => string): WebhooksVersion {
  return {
    read: () => redis.get(key()),
    bump: async () => void (await redis.incr(key())),
  };
}
