/**
 * bench/send, large messages (issue 17): one 20 MB attachment (about 28 MB of JSON) per
 * POST /v1/send, 1 and then 8 at once, against the real service (ROLE=api, its own process);
 * then one worker process delivers them to the sandbox SMTP server.
 *
 * A first large request, not reported, warms the API process up (its heaps grow once and stay
 * grown) and is canceled. Reported per round: accept time (each request from its first byte sent to its 202), the API
 * process's peak RSS above its RSS before the round (VmHWM, reset before each round through
 * /proc/<pid>/clear_refs), its RSS once every request was answered, the bytes Redis holds per
 * message (STRLEN of the stored content, and its ratio to the file) and the delivery rate.
 * Goals: Redis ≤ 1.1× the file; peak RSS ≤ +2× the bodies in flight.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, type Sandbox } from '../sandbox/index.js';
import { freePort } from '../sandbox/ports.js';
import { createRedis } from '../src/adapters/redis/redis.js';
import { createKeySpace } from '../src/store/keys.js';
import { testEnv, TEST_API_KEY } from '../test/support/app.js';
import { spawnService, type ServiceProcess } from '../test/support/service-process.js';
import { fmt, percentile, rssBytes } from './support/stats.js';

const FILE_BYTES = 20 * 1000 * 1000;
const MB = 1e6;
const auth = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };

/** Peak RSS since the last reset, from /proc. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}
const resetPeak = (pid: number): void => writeFileSync(`/proc/${pid}/clear_refs`, '5');

async function started(base: string, service: ServiceProcess): Promise<void> {
  for (let i = 0; !(await fetch(`${base}/health/live`).catch(() => undefined))?.ok; i++) {
    if (i > 300) throw new Error(`the service did not start: ${service.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function created(base: string, path: string, body: unknown): Promise<string> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export async function largeMessages(sandbox: Sandbox): Promise<(string | number)[][]> {
  const env = testEnv(sandbox.redis.url, { ...sandbox.serviceEnv(), LOG_LEVEL: 'warn', SEND_RATE_PER_MINUTE: '0', SEND_RECIPIENTS_PER_DAY: '0' });
  const port = await freePort();
  const api = spawnService({ ...env, ROLE: 'api', HOST: '127.0.0.1', PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  const redis = createRedis(sandbox.redis.url, 'command', 'bench-large');
  const keys = createKeySpace(env.REDIS_PREFIX!);
  const rows: (string | number)[][] = [];
  try {
    await started(base, api);
    const connectionId = await created(base, '/v1/connections', {
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const mailboxId = await created(base, '/v1/mailboxes', { connectionId, email: 'large@contoso.example', pollIntervalSeconds: 86_400, ...sandbox.mailServers() });
    const body = Buffer.from(JSON.stringify({
      mailboxId, to: ['customer@example.org'], subject: 'Your invoice', text: 'The invoice is attached.',
      attachments: [{ filename: 'invoice.pdf', contentType: 'application/pdf', content: randomBytes(FILE_BYTES).toString('base64') }],
    }));
    sandbox.smtp.reset();
    sandbox.smtp.setBehaviour({ allowedSenders: 'any' });
    // A first large body grows the process's heaps once (kept after); the rounds measure what each body costs.
    const warmUp = await fetch(`${base}/v1/send`, { method: 'POST', headers: auth, body });
    if (warmUp.status !== 202) throw new Error(`warm-up: ${warmUp.status} ${await warmUp.text()}`);
    const { id: warmUpId } = (await warmUp.json()) as { id: string };
    await fetch(`${base}/v1/send/${warmUpId}`, { method: 'DELETE', headers: { authorization: auth.authorization } });
    for (const concurrent of [1, 8]) {
      const pid = api.child.pid!;
      resetPeak(pid);
      const before = rssBytes(pid);
      const times: number[] = [];
      const ids = await Promise.all(Array.from({ length: concurrent }, async () => {
        const t0 = performance.now();
        const res = await fetch(`${base}/v1/send`, { method: 'POST', headers: auth, body });
        const text = await res.text();
        times.push(performance.now() - t0);
        if (res.status !== 202) throw new Error(`POST /v1/send: ${res.status} ${text.slice(0, 300)}`);
        return (JSON.parse(text) as { id: string }).id;
      }));
      const peak = peakRss(pid) - before;
      const after = rssBytes(pid) - before;
      const stored = await Promise.all(ids.map((id) => redis.strlen(keys.send.content(id))));
      const perMessage = stored.reduce((a, b) => a + b, 0) / stored.length;

      sandbox.smtp.reset();
      const t0 = performance.now();
      const worker = spawnService({ ...env, ROLE: 'worker' });
      try {
        await sandbox.smtp.waitForMessages(concurrent, 300_000);
      } finally {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
      const seconds = (performance.now() - t0) / 1000;
      rows.push([
        concurrent, fmt(body.length / MB, 1), fmt(percentile(times, 50)), fmt(Math.max(...times)),
        fmt(peak / MB), fmt((peak / (concurrent * body.length)), 2), fmt(after / MB), fmt(perMessage / MB, 1), fmt(perMessage / FILE_BYTES, 3),
        fmt(seconds, 1), fmt((concurrent * FILE_BYTES) / MB / seconds, 1),
      ]);
    }
    return rows;
  } finally {
    redis.disconnect();
    api.child.kill('SIGKILL');
    await api.exited;
  }
}

export const LARGE_HEADER = [
  'at once', 'body MB', 'accept p50 ms', 'accept max ms', 'API peak RSS +MB', 'peak ÷ bodies in flight (goal ≤ 2)', 'API RSS after +MB',
  'Redis MB/message', 'Redis ÷ file (goal ≤ 1.1)', 'deliver s (incl. worker start)', 'delivered MB/s of files',
];
