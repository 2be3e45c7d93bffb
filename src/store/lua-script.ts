/**
 * A Lua script run by its SHA1 (EVALSHA), loaded on first use or after a
 * Redis restart (NOSCRIPT), so hot paths do not resend the source each call.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../adapters/redis/redis.js';

export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
