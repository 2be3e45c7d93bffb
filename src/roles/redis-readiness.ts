/**
 * Readiness of Redis: whether it serves (adapters/redis/health.ts: PING, and
 * on a cluster its state and every master).
 */
import { redisHealth } from '../adapters/redis/health.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { ReadinessCheck } from './readiness-check.js';

export function redisReadiness(redis: Redis): ReadinessCheck {
  return { name: 'redis', check: () => redisHealth(redis) };
}
