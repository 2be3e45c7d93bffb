/**
 * Webhook delivery throughput, and what a dead endpoint costs healthy ones.
 *
 *   npx tsx bench/webhooks.ts        (npm run bench:webhooks)
 *
 * Self-contained: starts its own Redis (sandbox/redis.ts) and, in a child
 * process, a fast receiver (204; counts and latency per path) and a dead one
 * (accepts, never answers). Each scenario builds the real dependency graph
 * (createDependencies: production defaults, private networks allowed) with
 * HEALTHY subscriptions on the fast receiver and maybe one dead subscription
 * (hanging, or refusing connections), all wanting every event, then:
 *
 * 1. backlog: publishes EVENTS events with the workers stopped (timed: the
 *    publish rate, fan-out included), starts the workers and times until the
 *    healthy endpoints have every delivery: the delivery throughput;
 * 2. steady: publishes STEADY_RATE events/s for STEADY_SECONDS and reports the
 *    healthy endpoints' latency (event time → received): at a load the
 *    service keeps up with, a dead endpoint beside them must not delay them.
 *
 * Rounds interleave the scenarios; the table shows medians (and the range of
 * the throughput), so a noisy moment on a shared machine does not decide.
 * Goal: ≥ 2 000 deliveries/s, and a dead endpoint costs < 10 % of it.
 *
 * Knobs (environment): BENCH_EVENTS (15 000), BENCH_HEALTHY (1 healthy
 * subscription; each is capped at WEBHOOK_MAX_IN_FLIGHT concurrent attempts),
 * BENCH_ROUNDS (3).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/config.js';
import { createDependencies, type Dependencies } from '../src/container.js';
import { newEvent, type EventType } from '../src/domain/events/events.js';
import { createLogger } from '../src/logging/logger.js';
import { freePort } from '../sandbox/ports.js';
import { startRedis } from '../sandbox/redis.js';
import { startBenchReceivers, type BenchReceivers } from './webhook-receivers.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 15_000);
const HEALTHY = Number(process.env.BENCH_HEALTHY ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STEADY_RATE = 500;
const STEADY_SECONDS = 3;
const PUBLISHERS = 16;
const DEADLINE_MS = 60_000;
const SCENARIOS = ['none', 'hanging', 'refusing'] as const;

type Dead = (typeof SCENARIOS)[number];

interface Result {
  dead: Dead;
  publishRate: number;
  rate: number;
  p50: number;
  p99: number;
  deadHealth: string;
}

const MAILBOX = 'mbx_BenchBenchBench0';

function event(type: EventType, n: number) {
  return type === 'message.sent'
    ? newEvent('message.sent', { sendId: `snd_${n}`, mailboxId: MAILBOX, messageId: `<${n}@bench>`, smtpResponse: '250 2.0.0 OK' })
    : newEvent('mailbox.recovered', { mailboxId: MAILBOX, state: 'active' });
}

async function publishBacklog(deps: Dependencies, count: number): Promise<void> {
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < count) await deps.events.publish(event('message.sent', ++next));
  };
  await Promise.all(Array.from({ length: PUBLISHERS }, producer));
}

async function publishSteadily(deps: Dependencies): Promise<void> {
  const started = performance.now();
  const total = STEADY_RATE * STEADY_SECONDS;
  const pending: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / STEADY_RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(deps.events.publish(event('mailbox.recovered', n)));
  }
  await Promise.all(pending);
}

/** Waits until every path has `count` deliveries; returns their merged latency percentiles. */
async function waitFor(receivers: BenchReceivers, paths: string[], count: number): Promise<{ p50: number; p99: number }> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const got = Object.values(await receivers.stats(paths)).map((s) => s.count);
    if (got.every((n) => n >= count)) {
      const stats = await receivers.stats(paths, true);
      const of = (k: 'p50' | 'p99'): number => Math.max(...paths.map((p) => stats[p]?.[k] ?? 0));
      return { p50: of('p50'), p99: of('p99') };
    }
    if (Date.now() > deadline) throw new Error(`only ${got.join(', ')} of ${count} deliveries after ${DEADLINE_MS} ms`);
    await sleep(10);
  }
}

async function deadUrl(dead: Dead, receivers: BenchReceivers): Promise<string | undefined> {
  if (dead === 'hanging') return `${receivers.deadUrl}/hook`;
  if (dead === 'refusing') return `http://127.0.0.1:${await freePort()}/hook`;
  return undefined;
}

async function runScenario(redisUrl: string, receivers: BenchReceivers, dead: Dead, events = EVENTS): Promise<Result> {
  const config = loadConfig({
    API_KEYS: 'bench-api-key-0123456789',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'error',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  const deps = createDependencies(config, createLogger({ level: 'error' }));
  await deps.redis.connect();
  const { subscriptions } = deps.webhooks;
  const run = randomBytes(4).toString('hex');
  const backlogPaths = Array.from({ length: HEALTHY }, (_, i) => `/${run}/backlog/${i}`);
  const steadyPaths = Array.from({ length: HEALTHY }, (_, i) => `/${run}/steady/${i}`);
  try {
    for (const path of backlogPaths) await subscriptions.create({ url: receivers.fastUrl + path, events: ['message.sent'] });
    for (const path of steadyPaths) await subscriptions.create({ url: receivers.fastUrl + path, events: ['mailbox.recovered'] });
    const target = await deadUrl(dead, receivers);
    const deadSub = target ? await subscriptions.create({ url: target, events: ['message.sent', 'mailbox.recovered'] }) : undefined;

    const publishStart = performance.now();
    await publishBacklog(deps, events);
    const publishRate = events / ((performance.now() - publishStart) / 1000);
    const drainStart = performance.now();
    await deps.jobs.startAll();
    await waitFor(receivers, backlogPaths, events);
    const rate = (HEALTHY * events) / ((performance.now() - drainStart) / 1000);

    await publishSteadily(deps);
    const latency = await waitFor(receivers, steadyPaths, STEADY_RATE * STEADY_SECONDS);
    const health = deadSub ? (await subscriptions.get(deadSub.id)).health : undefined;
    return {
      dead,
      publishRate,
      rate,
      ...latency,
      deadHealth: health ? `${health.status}, ${health.consecutiveFailures} failed attempts` : '—',
    };
  } finally {
    receivers.releaseDead();
    await deps.close();
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const LABELS: Record<Dead, string> = {
  none: `${HEALTHY} healthy endpoints alone`,
  hanging: `${HEALTHY} healthy + 1 hanging endpoint`,
  refusing: `${HEALTHY} healthy + 1 refusing endpoint`,
};

function table(results: Result[]): string {
  const base = median(results.filter((r) => r.dead === 'none').map((r) => r.rate));
  const rows = SCENARIOS.map((dead) => {
    const runs = results.filter((r) => r.dead === dead);
    const rates = runs.map((r) => r.rate);
    const rate = median(rates);
    const cost = dead === 'none' ? '—' : `${(((base - rate) / base) * 100).toFixed(1)} %`;
    return [
      LABELS[dead],
      `${Math.round(rate)}`,
      `${Math.round(Math.min(...rates))}–${Math.round(Math.max(...rates))}`,
      cost,
      `${Math.round(median(runs.map((r) => r.publishRate)))}`,
      `${median(runs.map((r) => r.p50))} / ${median(runs.map((r) => r.p99))}`,
      runs[runs.length - 1]!.deadHealth,
    ].join(' | ');
  });
  return [
    '| scenario | healthy deliveries/s | min–max | cost vs alone | events published/s | steady latency p50 / p99 (ms) | dead endpoint at the end |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const receivers = await startBenchReceivers();
  const results: Result[] = [];
  try {
    // A round that is not counted: the first one pays for JIT compilation and script loading.
    await runScenario(redis.url, receivers, 'none', 2_000);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const dead of SCENARIOS) {
        const result = await runScenario(redis.url, receivers, dead);
        results.push(result);
        process.stderr.write(`round ${round}, ${LABELS[dead]}: ${Math.round(result.rate)} deliveries/s, p99 ${result.p99} ms\n`);
      }
    }
  } finally {
    await receivers.close();
    await redis.stop();
  }
  process.stdout.write(
    `\nWebhook delivery (Redis: ${redis.kind}; ${ROUNDS} rounds; backlog ${EVENTS} events × ${HEALTHY} healthy subscriptions; ` +
      `steady ${STEADY_RATE} events/s for ${STEADY_SECONDS} s; medians)\n\n${table(results)}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
