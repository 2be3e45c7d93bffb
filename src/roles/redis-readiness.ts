/**
 * Readiness of Redis. One server: it answers PING. A cluster: it says
 * `cluster_state:ok` (every slot served) and every master answers PING, since
 * a PING to one random node says little about the nodes holding the keys.
 */
import { isCluster, type Redis } from '../adapters/redis/redis.js';
import type { ReadinessCheck } from './readiness-check.js';

export function redisReadiness(redis: Redis): ReadinessCheck {
  return {
    name: 'redis',
    check: async () => {
      if (!isCluster(redis)) return { ok: (await redis.ping()) === 'PONG' };
      const state = /cluster_state:(\w+)/.exec(await redis.cluster('INFO'))?.[1] ?? 'unknown';
      if (state !== 'ok') return { ok: false, detail: `cluster_state:${state}` };
      const masters = redis.nodes('master');
      const answers = await Promise.all(masters.map((node) => node.ping().catch(() => 'no answer')));
      const silent = masters.filter((_, i) => answers[i] !== 'PONG').map((node) => `${node.options.host}:${node.options.port}`);
      return silent.length === 0 ? { ok: true } : { ok: false, detail: `masters not answering: ${silent.join(', ')}` };
    },
  };
}
