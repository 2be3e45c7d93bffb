/**
 * /health/ready in a worker role follows the BullMQ workers: a worker whose
 * loop stopped (here: paused, as when its loop ends) makes readiness 503 with
 * the queue's name, and the worker watch starts it again, so readiness
 * recovers by itself. The service is started as production starts it
 * (startService), in-process so the test can reach a worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startService, type RunningService } from '../../src/server.js';
import { testEnv, TEST_API_KEY } from '../support/app.js';
import { captureLogs } from '../support/logs.js';
import { waitUntil } from '../support/mail.js';

let redis: SandboxRedis;
let service: RunningService;
const logs = captureLogs();

beforeAll(async () => {
  redis = await startRedis();
  const config = loadConfig(testEnv(redis.url, { HOST: '127.0.0.1', PORT: '0' }));
  service = await startService(config, createLogger({ level: 'info' }, logs.stream));
});

afterAll(async () => {
  await service?.close();
  await redis?.stop();
});

const ready = async (): Promise<{ status: number; body: { checks: { name: string; ok: boolean; detail?: string }[] } }> => {
  // The detail of each check needs an API key (scope metrics) on the API's port.
  const res = await fetch(`${service.url}/health/ready`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
  return { status: res.status, body: (await res.json()) as { checks: { name: string; ok: boolean; detail?: string }[] } };
};

describe('worker readiness', () => {
  it('answers 503 naming a stopped BullMQ worker, and recovers by itself', async () => {
    expect((await ready()).status).toBe(200);
    const poll = service.deps.jobs.activeWorkers().find((w) => w.name === 'poll');
    expect(poll?.isRunning()).toBe(true);

    await poll!.pause(true);
    await waitUntil('the worker loop to end', () => (poll!.isRunning() ? undefined : true));
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.checks).toContainEqual({ name: 'queue-workers', ok: false, detail: 'not running: poll' });

    // The watch looks every 5 s.
    await waitUntil('readiness back to 200', async () => ((await ready()).status === 200 ? true : undefined), 12_000);
    expect(poll!.isRunning()).toBe(true);
    expect(logs.text()).toContain('queue worker not running: starting it again');
  }, 30_000);
});
