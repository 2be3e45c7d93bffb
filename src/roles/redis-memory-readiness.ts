/**
 * Readiness check `redis-memory`: fails while Redis is fuller than the
 * threshold of its `maxmemory`, since at the limit (noeviction) every change
 * is refused (503 `storage_full`) and workers cannot record their work. It
 * recovers by itself once memory is freed or the limit raised. Without a
 * `maxmemory`, or when Redis does not tell (INFO disabled), it passes: the
 * `redis` check covers a Redis that does not answer.
 */
import { fullness, type RedisMemory, type RedisMemoryReader } from '../adapters/redis/memory.js';
import type { ReadinessCheck } from './readiness-check.js';

/**
 * Fails above this share of maxmemory: a little before the limit, so that a load balancer turns
 * away new work while the writes of work already accepted still fit.
 */
export const REDIS_MEMORY_READY_THRESHOLD = 0.95;

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export function describeMemory(memory: RedisMemory): string {
  const where = memory.node ? ` on ${memory.node}` : '';
  return `${mib(memory.usedBytes)} used of maxmemory ${mib(memory.maxBytes)} (${Math.round(fullness(memory) * 100)} %)${where}`;
}

export function redisMemoryReadiness(reader: Pick<RedisMemoryReader, 'read'>, threshold = REDIS_MEMORY_READY_THRESHOLD): ReadinessCheck {
  return {
    name: 'redis-memory',
    check: async () => {
      const memory = await reader.read();
      if (!memory || memory.maxBytes === 0 || fullness(memory) <= threshold) return { ok: true };
      return { ok: false, detail: `${describeMemory(memory)}: free memory in Redis or raise maxmemory` };
    },
  };
}
