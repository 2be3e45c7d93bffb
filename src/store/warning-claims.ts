/** The credential warnings' claims in Redis (domain/connections/credential-expiry.ts): SET NX PX, DEL to give one back. */
import type { Redis } from '../adapters/redis/redis.js';
import type { WarningClaims } from '../domain/connections/credential-expiry.js';
import type { KeySpace } from './keys.js';

export class RedisWarningClaims implements WarningClaims {
  constructor(private readonly redis: Redis, private readonly keys: Pick<KeySpace, 'credentialWarning'>) {}

  async claim(connectionId: string, thresholdDays: number, expiresAtMs: number, keepMs: number): Promise<boolean> {
    const key = this.keys.credentialWarning(connectionId, thresholdDays, expiresAtMs);
    return (await this.redis.set(key, String(Date.now()), 'PX', Math.max(1, Math.ceil(keepMs)), 'NX')) === 'OK';
  }

  async release(connectionId: string, thresholdDays: number, expiresAtMs: number): Promise<void> {
    await this.redis.del(this.keys.credentialWarning(connectionId, thresholdDays, expiresAtMs));
  }
}
