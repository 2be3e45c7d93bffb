/**
 * Redis settings the service depends on: job state must never be evicted
 * (`maxmemory-policy noeviction`) and should survive a restart (AOF). Checked
 * at start; a managed Redis that refuses CONFIG is not an error.
 *
 * On a Redis Cluster each master holds its own share of the keys and has its
 * own settings, so each master is checked and named in the warning. (A
 * replica's settings matter once it is promoted; it is checked then, at the
 * next start.)
 */
import { isCluster, type Redis } from './redis.js';

const SAFE_POLICIES = new Set(['noeviction']);

type Node = Pick<Redis, 'config' | 'info'>;

export async function redisSettingWarnings(redis: Redis): Promise<string[]> {
  if (!isCluster(redis)) return nodeWarnings(redis, '');
  const masters = redis.nodes('master');
  const warnings = await Promise.all(masters.map((node) => nodeWarnings(node, ` (node ${node.options.host}:${node.options.port})`)));
  return warnings.flat();
}

async function nodeWarnings(node: Node, where: string): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const [, policy] = (await node.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy && !SAFE_POLICIES.has(policy)) {
      warnings.push(`Redis maxmemory-policy is ${policy}${where}: under memory pressure it may evict job state and cursors; set it to noeviction`);
    }
  } catch {
    // CONFIG is often disabled on managed Redis; nothing to say then.
  }
  try {
    const info = await node.info('persistence');
    if (/aof_enabled:0/.test(info)) {
      warnings.push(`Redis runs without AOF persistence (appendonly no)${where}: a Redis restart loses queued jobs and cursors`);
    }
  } catch {
    // INFO may be renamed or disabled; nothing to say then.
  }
  return warnings;
}
