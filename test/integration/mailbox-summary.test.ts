/**
 * GET /v1/mailboxes/summary and the gauges beside it show that nothing polls.
 * With ROLE=api alone (no worker), mailboxes become overdue: workers 0 and
 * overdue n, in the summary and in /metrics; once a worker runs (ROLE=worker,
 * on the same Redis) they show 1 and 0. The counts come from indexes kept in
 * step with every write (mailboxes by state, the schedule's overdue index);
 * both are rebuilt, to the same numbers, when absent (as after an upgrade).
 * Services are started as production starts them (startService).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startService, type RunningService } from '../../src/server.js';
import { testEnv, TEST_API_KEY } from '../support/app.js';
import { captureLogs } from '../support/logs.js';
import { waitUntil } from '../support/mail.js';

let redis: SandboxRedis;
let base: Record<string, string>;
let api: RunningService;
let worker: RunningService | undefined;
const auth = { authorization: `Bearer ${TEST_API_KEY}` };

async function start(role: 'api' | 'worker'): Promise<RunningService> {
  return startService(loadConfig({ ...base, ROLE: role }), createLogger({ level: 'info' }, captureLogs().stream));
}

interface Summary { total: number; byState: Record<string, number>; overdue: number; workers: number }

async function summary(): Promise<Summary> {
  const res = await fetch(`${api.url}/v1/mailboxes/summary`, { headers: auth });
  expect(res.status).toBe(200);
  return (await res.json()) as Summary;
}

async function gauges(): Promise<{ workers: number; overdue: number }> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  return { workers: value('mailsync_live_workers'), overdue: value('mailsync_overdue_mailboxes') };
}

async function post(path: string, body?: unknown): Promise<{ id: string }> {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as { id: string };
}

beforeAll(async () => {
  redis = await startRedis();
  base = testEnv(redis.url, { HOST: '127.0.0.1', PORT: '0' });
  api = await start('api');
});

afterAll(async () => {
  await worker?.close();
  await api?.close();
  await redis?.stop();
});

describe('the mailbox summary', () => {
  it('answers zeros, not a mailbox lookup, before there is any mailbox', async () => {
    expect(await summary()).toEqual({
      total: 0,
      byState: { active: 0, pending_authorization: 0, auth_error: 0, throttled: 0, error: 0, paused: 0 },
      overdue: 0,
      workers: 0,
    });
  });

  it('with ROLE=api alone: mailboxes become overdue, and the summary and /metrics show 0 workers', async () => {
    // The identity platform is a closed port: a poll, when one runs, fails at once and backs off.
    const connection = await post('/v1/connections', {
      name: 'summary', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: 'https://localhost:1',
    });
    const servers = { imap: { host: '127.0.0.1', port: 9, secure: true }, smtp: { host: '127.0.0.1', port: 9, secure: false } };
    for (const n of [1, 2, 3]) await post('/v1/mailboxes', { connectionId: connection.id, email: `box${n}@contoso.example`, pollIntervalSeconds: 1, ...servers });
    const paused = await post('/v1/mailboxes', { connectionId: connection.id, email: 'paused@contoso.example', pollIntervalSeconds: 1, ...servers });
    await post(`/v1/mailboxes/${paused.id}/pause`);

    // Each is due within its first second; overdue one interval (1 s) later.
    const overdue = await waitUntil('three mailboxes overdue', async () => {
      const s = await summary();
      return s.overdue === 3 ? s : undefined;
    }, 10_000);
    expect(overdue).toEqual({
      total: 4,
      byState: { active: 3, pending_authorization: 0, auth_error: 0, throttled: 0, error: 0, paused: 1 },
      overdue: 3,
      workers: 0,
    });
    expect(await gauges()).toEqual({ workers: 0, overdue: 3 });
  });

  it('counts the same when its indexes are rebuilt from the records (as after an upgrade)', async () => {
    const kept = await summary();
    const { keys } = api.deps;
    // Every shard's overdue index (a shard holding no mailbox has none).
    const indexes = Array.from({ length: keys.pollShards }, (_, shard) => keys.pollOverdueAt(shard));
    const held = await Promise.all(indexes.map((key) => api.deps.redis.exists(key)));
    const present = indexes.filter((_, i) => held[i] === 1);
    expect(present.length).toBeGreaterThan(0);
    expect(await api.deps.redis.del(keys.mailboxStates())).toBe(1);
    for (const key of present) expect(await api.deps.redis.del(key)).toBe(1);
    expect(await summary()).toEqual(kept);
    expect(await api.deps.redis.exists(keys.mailboxStates(), ...present)).toBe(1 + present.length);
  });

  it('with a worker running: 1 worker and nothing overdue', async () => {
    worker = await start('worker');
    const polled = await waitUntil('the worker to poll every mailbox', async () => {
      const s = await summary();
      return s.workers === 1 && s.overdue === 0 && s.byState.error === 3 ? s : undefined;
    }, 20_000);
    expect(polled).toEqual({
      total: 4,
      byState: { active: 0, pending_authorization: 0, auth_error: 0, throttled: 0, error: 3, paused: 1 },
      overdue: 0,
      workers: 1,
    });
    expect(await gauges()).toEqual({ workers: 1, overdue: 0 });
  });

  it('keeps the state counts in step through resume and delete', async () => {
    // Without the worker, no poll changes a state while the counts are compared with the records.
    await worker?.close();
    worker = undefined;
    const list = (await (await fetch(`${api.url}/v1/mailboxes`, { headers: auth })).json()) as { items: { id: string; state: string }[] };
    const paused = list.items.find((m) => m.state === 'paused')!;
    await post(`/v1/mailboxes/${paused.id}/resume`);
    const failing = list.items.find((m) => m.state === 'error')!;
    expect((await fetch(`${api.url}/v1/mailboxes/${failing.id}`, { method: 'DELETE', headers: auth })).status).toBe(204);
    const s = await summary();
    expect(s.total).toBe(3);
    expect(s.byState.paused).toBe(0);
    expect(Object.values(s.byState).reduce((a, b) => a + b, 0)).toBe(3);
    // The same numbers as a count made from the records now.
    const states = ((await (await fetch(`${api.url}/v1/mailboxes`, { headers: auth })).json()) as { items: { state: string }[] }).items.map((m) => m.state);
    for (const [state, n] of Object.entries(s.byState)) expect(n, state).toBe(states.filter((x) => x === state).length);
  });
});
