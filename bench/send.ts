/**
 * bench/send: what sending costs. Self-contained (starts its own sandbox),
 * about a minute and a half.
 *
 *   npm run bench:send
 *   BENCH_PARTS=accept npm run bench:send      (or deliver: one part only)
 *   BENCH_IDEMPOTENCY=1 BENCH_PARTS=accept npm run bench:send   (a new Idempotency-Key per request)
 *   BENCH_PARTS=large npm run bench:send      (20 MB attachments, 1 and 8 at once: bench/send-large.ts)
 *
 * 1. Accepting: POST /v1/send per second against the real service (ROLE=api,
 *    its own process, listening on a port), beside a bare Fastify route that
 *    parses the same body (bench/send-bare-server.ts), both under autocannon
 *    from this process on the same machine, in ten short rounds of
 *    alternating order; the ratio is the median of the rounds' ratios.
 *    Goal: ≥ 40 % of the bare rate.
 * 2. Delivering: messages queued beforehand, then one worker process (ROLE=
 *    worker, rate limits lifted) submits them to the sandbox SMTP server
 *    (STARTTLS, XOAUTH2); the rate is taken between the first and the last
 *    arrival. Goal: ≥ 300 messages/s. Exchange's cap holds: at most 3 SMTP
 *    connections per mailbox across workers (SEND_POOL_CONNECTIONS ≤ 3).
 * 3. Large messages (bench/send-large.ts): accept time, API peak RSS, Redis
 *    bytes per message and delivery of 20 MB attachments, 1 and 8 at once.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../sandbox/index.js';
import { freePort } from '../sandbox/ports.js';
import { createRedis, type Redis } from '../src/adapters/redis/redis.js';
import { buildTestApp, testEnv, TEST_API_KEY } from '../test/support/app.js';
import { spawnService } from '../test/support/service-process.js';
import { cpuSeconds, fmt, percentile, printTable } from './support/stats.js';
import { LARGE_HEADER, largeMessages } from './send-large.js';

const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const CONNECTIONS = 64;
const DELIVER = Number(process.env.BENCH_MESSAGES ?? 4_000);

const auth = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };

/** A typical notification: one recipient, about 1 KB of text and HTML. */
function message(mailboxId: string, n = 0) {
  return {
    mailboxId,
    to: [`customer${n}@example.org`],
    subject: `Your ticket #${n} was updated`,
    text: 'Hello,\n\nyour ticket was updated. '.repeat(12),
    html: `<p>Hello,</p><p>${'your ticket was updated. '.repeat(12)}</p>`,
    headers: { 'X-Ticket': String(n) },
  };
}

interface Load { rate: number; p99: number; errors: number }

/**
 * BENCH_IDEMPOTENCY=1: every request carries a new Idempotency-Key, on both targets (the load
 * generator then builds each request, which costs it more: the bare route pays that too).
 */
const KEYED = process.env.BENCH_IDEMPOTENCY === '1';
let keys = 0;
const withKey = (request: autocannon.Request): autocannon.Request => ({ ...request, headers: { ...request.headers, 'idempotency-key': `bench-${process.pid}-${keys++}` } });

async function load(url: string, body: unknown, headers: Record<string, string>, seconds: number): Promise<Load> {
  const result = await autocannon({
    url, method: 'POST', headers, body: JSON.stringify(body), connections: CONNECTIONS, duration: seconds,
    ...(KEYED ? { requests: [{ setupRequest: withKey }] } : {}),
  });
  return { rate: result['2xx'] / result.duration, p99: result.latency.p99, errors: result.non2xx + result.errors };
}

async function post(base: string, path: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** The real service (ROLE=api) with a mailbox, and the bare route, each in its own process. */
async function startTargets(sandbox: Sandbox) {
  const bare = spawn(process.execPath, ['--import', 'tsx', 'bench/send-bare-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const barePort = await new Promise<string>((resolve) => bare.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const port = await freePort();
  const api = spawnService({ ...testEnv(sandbox.redis.url, sandbox.serviceEnv()), ROLE: 'api', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await fetch(`${base}/health/live`).catch(() => undefined))?.ok; i++) {
    if (i > 300) throw new Error(`the service did not start: ${api.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const connection = await post(base, '/v1/connections', {
    name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
  });
  const mailbox = await post(base, '/v1/mailboxes', { connectionId: connection.id, email: 'bench@contoso.example', pollIntervalSeconds: 86_400, ...sandbox.mailServers() });
  return {
    bare: () => load(`http://127.0.0.1:${barePort}/send`, message(mailbox.id), { 'content-type': 'application/json' }, LOAD_SECONDS),
    send: () => load(`${base}/v1/send`, message(mailbox.id), auth, LOAD_SECONDS),
    warmUp: async () => {
      await load(`http://127.0.0.1:${barePort}/send`, message(mailbox.id), { 'content-type': 'application/json' }, 2);
      await load(`${base}/v1/send`, message(mailbox.id), auth, 2);
    },
    apiCpu: () => cpuSeconds(api.child.pid!),
    bareCpu: () => cpuSeconds(bare.pid!),
    stop: async () => {
      bare.kill('SIGKILL');
      api.child.kill('SIGKILL');
      await api.exited;
    },
  };
}

/** Rounds alternate the two targets, so that a busy moment on a shared machine hits both. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function accepting(sandbox: Sandbox): Promise<(string | number)[][]> {
  const targets = await startTargets(sandbox);
  const redis = createRedis(sandbox.redis.url, 'command', 'bench');
  try {
    await targets.warmUp();
    const rows: (string | number)[][] = [];
    const columns = { bare: [] as number[], bareCpu: [] as number[], sent: [] as number[], apiCpu: [] as number[], redisCpu: [] as number[], ratio: [] as number[] };
    // CPU per request is printed beside the rates: it is what the ratio comes from on a CPU-bound
    // machine, though a busy host inflates it too.
    const perRequest = (cpuSecondsUsed: number, rate: number): number => (cpuSecondsUsed * 1e6) / (rate * LOAD_SECONDS);
    const measureBare = async () => {
      const before = targets.bareCpu();
      const bare = await targets.bare();
      return { ...bare, cpu: perRequest(targets.bareCpu() - before, bare.rate) };
    };
    const measureSend = async () => {
      const [api, redisCpu] = [targets.apiCpu(), await redisCpuSeconds(redis)];
      const sent = await targets.send();
      return { ...sent, cpu: perRequest(targets.apiCpu() - api, sent.rate), redisCpu: perRequest((await redisCpuSeconds(redis)) - redisCpu, sent.rate) };
    };
    for (let round = 1; round <= ROUNDS; round++) {
      // Short rounds in alternating order: a slow spell of a shared host falls on both targets.
      let bare, sent;
      if (round % 2 === 1) {
        bare = await measureBare();
        sent = await measureSend();
      } else {
        sent = await measureSend();
        bare = await measureBare();
      }
      const ratio = (100 * sent.rate) / bare.rate;
      columns.bare.push(bare.rate);
      columns.bareCpu.push(bare.cpu);
      columns.sent.push(sent.rate);
      columns.apiCpu.push(sent.cpu);
      columns.redisCpu.push(sent.redisCpu);
      columns.ratio.push(ratio);
      rows.push([
        round, fmt(bare.rate), fmt(bare.p99, 1), fmt(bare.cpu),
        fmt(sent.rate), fmt(sent.p99, 1), fmt(sent.cpu), fmt(sent.redisCpu),
        bare.errors + sent.errors, `${fmt(ratio)} %`,
      ]);
    }
    rows.push([
      'median', fmt(median(columns.bare)), '', fmt(median(columns.bareCpu)), fmt(median(columns.sent)), '',
      fmt(median(columns.apiCpu)), fmt(median(columns.redisCpu)), '', `${fmt(median(columns.ratio))} %`,
    ]);
    return rows;
  } finally {
    redis.disconnect();
    await targets.stop();
  }
}

const median = (values: number[]): number => percentile(values, 50);

interface DeliveryResult { mailboxes: number; connections: number; rate: number; wall: number; cpuPerMessageMs: number }

async function deliver(sandbox: Sandbox, mailboxes: number, connections: number): Promise<DeliveryResult> {
  const env = testEnv(sandbox.redis.url, {
    ...sandbox.serviceEnv(), LOG_LEVEL: 'warn', SEND_RATE_PER_MINUTE: '0', SEND_RECIPIENTS_PER_DAY: '0',
    SEND_CONCURRENCY: '64', SEND_POOL_CONNECTIONS: String(connections),
  });
  const control = await buildTestApp(sandbox.redis.url, env);
  try {
    const connection = await control.deps.services.connections.create({
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const ids: string[] = [];
    for (let i = 0; i < mailboxes; i++) {
      const created = await control.deps.services.mailboxes.create({ connectionId: connection.id, email: `bench${i}@contoso.example`, pollIntervalSeconds: 86_400, ...sandbox.mailServers() });
      ids.push(created.id);
    }
    await Promise.all(Array.from({ length: DELIVER }, (_, n) => control.deps.sending.service.accept(message(ids[n % mailboxes]!, n))));
    sandbox.smtp.reset();
    sandbox.smtp.setBehaviour({ allowedSenders: 'any' });
    const started = performance.now();
    const worker = spawnService({ ...env, ROLE: 'worker' });
    try {
      const received = await sandbox.smtp.waitForMessages(DELIVER, 100_000);
      const wall = (performance.now() - started) / 1000;
      const times = received.map((m) => m.receivedAt.getTime()).sort((a, b) => a - b);
      const span = (times[times.length - 1]! - times[0]!) / 1000;
      const cpu = cpuSeconds(worker.child.pid!);
      return { mailboxes, connections, rate: (DELIVER - 1) / span, wall, cpuPerMessageMs: (cpu * 1000) / DELIVER };
    } finally {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  } finally {
    await control.close();
  }
}

const parts = (process.env.BENCH_PARTS ?? 'accept,deliver,large').split(',');
const sandbox = await startSandbox();
try {
  if (parts.includes('accept')) printTable(`Accepting: requests/s answered 2xx (autocannon, ${CONNECTIONS} connections, ${LOAD_SECONDS} s per run${KEYED ? ', a new Idempotency-Key per request' : ''}; 2 cores shared by the service, Redis and the load generator)`,
    ['round', 'bare route/s', 'bare p99 ms', 'bare CPU µs/req', 'POST /v1/send/s', 'send p99 ms', 'service CPU µs/req', 'Redis CPU µs/req', 'errors', 'ratio (goal ≥ 40 %)'],
    await accepting(sandbox));
  if (parts.includes('deliver')) printTable(`Delivering ${DELIVER} messages from one worker process to the sandbox SMTP (rate limits lifted; goal ≥ 300 msgs/s)`,
    ['mailboxes', 'connections per mailbox', 'messages/s', 'wall s (incl. start)', 'worker CPU ms/message'],
    [await deliver(sandbox, 1, 3), await deliver(sandbox, 20, 2)].map((d) => [d.mailboxes, d.connections, fmt(d.rate), fmt(d.wall, 1), fmt(d.cpuPerMessageMs, 2)]));
  if (parts.includes('large')) printTable('Large messages: a 20 MB attachment per POST /v1/send (28 MB of JSON), 1 and 8 at once, then delivered by one worker process',
    LARGE_HEADER, await largeMessages(sandbox));
} finally {
  await sandbox.stop();
}
process.exit(0);
