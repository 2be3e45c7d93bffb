/**
 * A worker process's heartbeat: it proves, in Redis and to its own readiness
 * probe, that the worker loop still turns. A loop that stops ticking (a
 * blocked event loop, a crashed scheduler) makes /health/ready answer 503.
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { ReadinessCheck } from '../http/routes/health.js';
import type { Logger } from '../logging/logger.js';

export interface HeartbeatOptions {
  redis: Redis;
  key: string;
  workerId: string;
  intervalMs?: number;
  logger: Logger;
}

export interface Heartbeat {
  readiness: ReadinessCheck;
  stop(): Promise<void>;
}

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const intervalMs = options.intervalMs ?? 5_000;
  let lastTick = Date.now();
  let stopped = false;
  const beat = async (): Promise<void> => {
    lastTick = Date.now();
    try {
      await options.redis.zadd(options.key, String(lastTick), options.workerId);
    } catch (err) {
      options.logger.warn({ err }, 'heartbeat not recorded');
    }
  };
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  void beat();
  return {
    readiness: {
      name: 'worker',
      check: async () => {
        const age = Date.now() - lastTick;
        if (stopped) return { ok: false, detail: 'worker stopped' };
        return age < intervalMs * 3 ? { ok: true } : { ok: false, detail: `worker loop silent for ${age} ms` };
      },
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await options.redis.zrem(options.key, options.workerId).catch(() => undefined);
    },
  };
}
