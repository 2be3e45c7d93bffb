/**
 * Redis settings the service depends on: job state must never be evicted
 * (`maxmemory-policy noeviction`) and should survive a restart (AOF). Checked
 * at start; a managed Redis that refuses CONFIG is not an error.
 */
import type { Redis } from './redis.js';

const SAFE_POLICIES = new Set(['noeviction']);

export async function redisSettingWarnings(redis: Redis): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy && !SAFE_POLICIES.has(policy)) {
      warnings.push(`Redis maxmemory-policy is ${policy}: under memory pressure it may evict job state and cursors; set it to noeviction`);
    }
  } catch {
    // CONFIG is often disabled on managed Redis; nothing to say then.
  }
  try {
    const info = await redis.info('persistence');
    if (/aof_enabled:0/.test(info)) {
      warnings.push('Redis runs without AOF persistence (appendonly no): a Redis restart loses queued jobs and cursors');
    }
  } catch {
    // INFO may be renamed or disabled; nothing to say then.
  }
  return warnings;
}
