/**
 * A worker process's heartbeat: it proves, in Redis and to its own readiness
 * probe, that the worker loop still turns. A loop that stops ticking (a
 * blocked event loop, a crashed scheduler) makes /health/ready answer 503.
 *
 * A blocked event loop cannot answer any probe while it is blocked (the probe
 * times out, which the orchestrator counts as a failure); once it runs again
 * the heartbeat timer is the first thing to fire, sees how late it is, and
 * readiness answers 503 until the next tick comes on time. So a process that
 * blocks now and then (a huge message parsed synchronously, a CPU-bound
 * library) shows up in readiness instead of passing as healthy.
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { ReadinessCheck } from './readiness-check.js';
import type { Logger } from '../logging/logger.js';
import { WorkerHeartbeats } from '../store/worker-heartbeats.js';

/** A worker whose last beat is older than this (ms) is not live: three missed beats at the default interval. */
export const WORKER_LIVE_MS = 15_000;
/** Beats older than this (ms) are dropped from the set: a SIGKILLed worker never removes its own. */
const FORGET_AFTER_MS = 24 * 60 * 60_000;

/** How many worker processes beat within WORKER_LIVE_MS, across every host: 0 when none runs (ROLE=api alone). */
export async function liveWorkers(redis: Redis, key: string, now: number = Date.now()): Promise<number> {
  return new WorkerHeartbeats(redis, key).beatingSince(now - WORKER_LIVE_MS);
}

/** The ids of the worker processes that beat within WORKER_LIVE_MS (poll shard ownership, jobs/polling/shard-owner.ts). */
export async function liveWorkerIds(redis: Redis, key: string, now: number = Date.now()): Promise<string[]> {
  return new WorkerHeartbeats(redis, key).beatingSinceIds(now - WORKER_LIVE_MS);
}

export interface HeartbeatOptions {
  redis: Redis;
  key: string;
  workerId: string;
  intervalMs?: number;
  /** A tick later than this (ms) means the event loop was blocked. @defaultValue 5 000 */
  maxLagMs?: number;
  logger: Logger;
}

export interface Heartbeat {
  readiness: ReadinessCheck;
  stop(): Promise<void>;
}

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const intervalMs = options.intervalMs ?? 5_000;
  const maxLagMs = options.maxLagMs ?? 5_000;
  let lastTick = Date.now();
  let lagMs = 0;
  let stopped = false;
  const beats = new WorkerHeartbeats(options.redis, options.key);
  const beat = async (): Promise<void> => {
    const now = Date.now();
    lagMs = Math.max(0, now - lastTick - intervalMs);
    if (lagMs > maxLagMs) options.logger.warn({ lagMs }, 'event loop was blocked');
    lastTick = now;
    try {
      await beats.beat(options.workerId, lastTick, lastTick - FORGET_AFTER_MS);
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
        if (age >= intervalMs * 3) return { ok: false, detail: `worker loop silent for ${age} ms` };
        return lagMs > maxLagMs ? { ok: false, detail: `event loop was blocked for ${lagMs} ms` } : { ok: true };
      },
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await beats.remove(options.workerId).catch(() => undefined);
    },
  };
}
