/**
 * The heartbeat's readiness sees a blocked event loop: while it is blocked
 * nothing answers (the probe times out); right after, the heartbeat's tick
 * comes late and readiness says so until a tick comes on time.
 */
import { describe, expect, it } from 'vitest';
import type { Redis } from '../../src/adapters/redis/redis.js';
import { createLogger } from '../../src/logging/logger.js';
import { startHeartbeat } from '../../src/roles/heartbeat.js';
import { captureLogs } from '../support/logs.js';

const fakeRedis = { zadd: async () => 1, zremrangebyscore: async () => 0, zrem: async () => 1 } as unknown as Redis;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('heartbeat', () => {
  it('reports a blocked event loop after it, and recovers on the next on-time tick', async () => {
    const logs = captureLogs();
    const beat = startHeartbeat({ redis: fakeRedis, key: 'k', workerId: 'w', intervalMs: 50, maxLagMs: 200, logger: createLogger({ level: 'info' }, logs.stream) });
    await sleep(120);
    expect(await beat.readiness.check()).toEqual({ ok: true });

    const until = Date.now() + 400;
    while (Date.now() < until) {
      // a synchronous loop: nothing else runs
    }
    await sleep(0); // the overdue interval fires first
    const after = await beat.readiness.check();
    expect(after.ok).toBe(false);
    expect(after.detail).toMatch(/^event loop was blocked for \d+ ms$/);
    expect(logs.text()).toContain('event loop was blocked');

    await sleep(120);
    expect(await beat.readiness.check()).toEqual({ ok: true });
    await beat.stop();
    expect(await beat.readiness.check()).toEqual({ ok: false, detail: 'worker stopped' });
  });
});
