/**
 * The worker processes' heartbeats in Redis: a sorted set of worker id → the
 * time of its last beat (ms), so "how many workers are live" is one ZCOUNT
 * from any process. roles/heartbeat.ts beats; the polling capability counts.
 */
import type { Redis } from '../adapters/redis/redis.js';

export class WorkerHeartbeats {
  constructor(private readonly redis: Redis, private readonly key: string) {}

  /** Records a beat of `workerId` at `at`, and forgets the beats older than `forgetBefore` (ms). */
  async beat(workerId: string, at: number, forgetBefore: number): Promise<void> {
    await this.redis.zadd(this.key, String(at), workerId);
    await this.redis.zremrangebyscore(this.key, '-inf', String(forgetBefore));
  }

  /** Forgets `workerId` (a worker that stops). */
  async remove(workerId: string): Promise<void> {
    await this.redis.zrem(this.key, workerId);
  }

  /** The ids of the workers that beat at `since` (ms) or later. */
  async beatingSinceIds(since: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.key, String(since), '+inf');
  }

  /** How many workers beat at `since` (ms) or later. */
  async beatingSince(since: number): Promise<number> {
    return this.redis.zcount(this.key, String(since), '+inf');
  }
}
