/**
 * The fault suite (`npm run test:faults`): the whole system under steady
 * traffic while faults are injected, then the invariants.
 *
 * - 2 API and 2 worker processes (`node --import tsx src/main.ts`), the
 *   sandbox (Redis with AOF in a fixed dir, so it can restart; the identity
 *   imitation; Dovecot; the SMTP server; the webhook receiver), a cutting
 *   IMAP proxy in front of a third of the mailboxes and a cutting SMTP proxy
 *   in front of half of them.
 * - Traffic (traffic.ts): mail arriving in 50 mailboxes, sends through
 *   POST /v1/send spread over both APIs, one webhook subscription (every
 *   event) to the sandbox receiver.
 * - Faults (faults.ts), in stages, each waited out until the system caught
 *   up (observe.ts); SIGKILLs of a worker and an API process at seeded
 *   random moments throughout.
 * - At the end, after a bounded settle: every arrived message announced,
 *   every accepted send sent once or failed with a reason, every event
 *   delivered, every process ready, memory near its baseline (checks.ts).
 *
 * Prints the seed (FAULTS_SEED replays a run), a table of the faults and
 * their recovery, and a summary; exits 1 when an invariant fails.
 * FAULTS_KEEP=1 keeps the run directory (logs, Redis data) even on success.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_TYPES } from '../../src/domain/events/events.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { startSmtpProxy, type SmtpProxy } from '../../sandbox/smtp-proxy.js';
import { testEnv } from '../support/app.js';
import { callAny } from './api.js';
import { checkEvents, checkMail, checkMemory, checkSends, type Invariant } from './checks.js';
import { serviceSlot, type ServiceSlot, type SlotRole } from './cluster.js';
import {
  dovecotDown, identityOutage, killProcess, proxyCuts, receiverDown, redisRestart, smtpThrottled,
  type FaultContext, type FaultRecord,
} from './faults.js';
import { createObserver, type Observer } from './observe.js';
import { faultDetailTable, faultSummaryTable, table } from './report.js';
import { createRng, seedFromEnv, type Rng } from './rng.js';
import { Traffic, type FaultMailbox } from './traffic.js';

// ---- The plan. Durations are the issue's, scaled where noted in README.md ("Fault suite").
const MAILBOXES = 50;
const POLL_INTERVAL_SECONDS = 2;
const MAIL_EVERY_MS = 500;
const SEND_EVERY_MS = 1_500;
const WARMUP_MS = 15_000;
const REDIS_DOWN_MS = 10_000;
const DOVECOT_DOWN_MS = 30_000;
const RECEIVER_DOWN_MS = 45_000;
const SMTP_421_MS = 20_000;
const IDENTITY_MS = 15_000;
const CUTS_MS = 20_000;
/** SIGKILLs: this many of each role, at seeded moments in [first, last] s after the faults begin. */
const KILLS: Record<SlotRole, number> = { worker: 2, api: 2 };
const KILL_WINDOW_S = { first: 15, last: 200 };
/** What an orchestrator takes to restart a killed process. */
const RESTART_AFTER_MS = 2_000;
/** How long a fault's recovery is waited for before the next stage begins anyway. */
const RECOVERY_TIMEOUT_MS = 120_000;
/** How long the system may take to settle once the faults stopped. */
const SETTLE_TIMEOUT_MS = 180_000;
/**
 * Access tokens of the identity imitation live 320 s: the service (as MSAL)
 * renews 300 s before expiry, so a token serves 20 s and identity faults
 * reach token renewals (with the default 3599 s, the hour-long cache would
 * hide them).
 */
const TOKEN_LIFETIME_SECONDS = 320;

/**
 * The service's settings for the suite: production delays shrunk so that
 * minutes of faults fit in a CI job. Next to each, the production default.
 */
const SEND_CONCURRENCY = 16;
const SUITE_ENV: Record<string, string> = {
  LOG_LEVEL: 'info',
  // Webhooks: first retry after 0.2 s (5 s), doubling up to 3 s (1 h), so a receiver that
  // comes back is caught up with within seconds; an unhealthy endpoint is probed every 1 s (5 s).
  WEBHOOK_RETRY_BASE_MS: '200',
  WEBHOOK_RETRY_MAX_DELAY_MS: '3000',
  WEBHOOK_PROBE_INTERVAL_MS: '1000',
  WEBHOOK_TIMEOUT_MS: '5000',
  // Keep every delivery of the run (1 000 per subscription) for the final check.
  WEBHOOK_DELIVERY_RETENTION_COUNT: '100000',
  // Sending: retry after 0.5 s (10 s) doubling up to 5 s (30 min); 2 s after a 421 (60 s);
  // 30 attempts (10), as faults at these delays would otherwise use up 10 and fail messages.
  SEND_RETRY_BASE_MS: '500',
  SEND_RETRY_MAX_DELAY_MS: '5000',
  SEND_THROTTLE_DELAY_MS: '2000',
  SEND_MAX_ATTEMPTS: '30',
  // A killed worker's sends are run again after 10 s (30 s); the sweeper looks every 5 s (30 s).
  SEND_STALL_TIMEOUT_MS: '10000',
  SEND_SWEEP_INTERVAL_MS: '5000',
  SEND_CONCURRENCY: String(SEND_CONCURRENCY),
  // Polls: mailboxes ask for 2 s, allowed by POLL_MIN_INTERVAL_SECONDS=1 (sandbox env). The
  // error back-off (5 s doubling, up to 15 min) is the product's own: not shortened.
};

const t0 = Date.now();
const log = (line: string): void => {
  process.stdout.write(`[faults ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

interface Run {
  seed: number;
  rng: Rng;
  dir: string;
  sandbox: Sandbox;
  imapProxy: ImapProxy;
  smtpProxy: SmtpProxy;
  slots: ServiceSlot[];
  apis: () => string[];
}

async function startSystem(seed: number): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), `mailsync-faults-${seed}-`));
  mkdirSync(join(dir, 'logs'));
  const sandbox = await startSandbox({ dir: join(dir, 'sandbox'), redis: { kind: 'process', appendonly: true, dir: join(dir, 'redis') } });
  sandbox.identity.setAccessTokenLifetime(TOKEN_LIFETIME_SECONDS);
  const imapProxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
  const smtpProxy = await startSmtpProxy({ pki: sandbox.pki, target: { host: sandbox.smtp.host, port: sandbox.smtp.port } });
  const env = testEnv(sandbox.redis.url, { ...sandbox.serviceEnv(), ...SUITE_ENV });
  const slots: ServiceSlot[] = [];
  for (const [role, n] of [['api', 2], ['worker', 2]] as const) {
    for (let i = 1; i <= n; i++) {
      slots.push(serviceSlot({ name: `${role}-${i}`, role, port: await freePort(), env, logDir: join(dir, 'logs') }));
    }
  }
  const apiSlots = slots.filter((s) => s.role === 'api');
  return { seed, rng: createRng(seed), dir, sandbox, imapProxy, smtpProxy, slots, apis: () => apiSlots.map((s) => s.url) };
}

async function must<T>(what: string, answer: Promise<{ status: number; json: T }>, status: number): Promise<T> {
  const res = await answer;
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

/** The subscription, the connection and the mailboxes, through the API; waits for every mailbox's baseline. */
async function provision(run: Run): Promise<{ subscriptionId: string; connectionId: string; mailboxes: FaultMailbox[] }> {
  const { sandbox, apis } = run;
  const hook = await must('POST /v1/webhooks', callAny<{ id: string; secret: string }>(apis, 'POST', '/v1/webhooks', {
    url: `${sandbox.receiver.url}/faults`, events: [...EVENT_TYPES],
  }), 201);
  sandbox.receiver.setSecrets([hook.secret]);
  const connection = await must('POST /v1/connections', callAny<{ id: string }>(apis, 'POST', '/v1/connections', {
    name: 'faults', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
    clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
  }), 201);
  const direct = sandbox.mailServers();
  const mailboxes: FaultMailbox[] = [];
  for (let i = 0; i < MAILBOXES; i++) {
    const email = `faults-${i}@${SANDBOX_TENANT.domain}`;
    // A third read through the cutting IMAP proxy, half send through the cutting SMTP proxy.
    const imap = i % 3 === 0 ? { host: '127.0.0.1', port: run.imapProxy.port, secure: true } : direct.imap;
    const smtp = i % 2 === 0 ? { host: '127.0.0.1', port: run.smtpProxy.port, secure: false } : direct.smtp;
    const created = await must(`POST /v1/mailboxes ${email}`, callAny<{ id: string }>(apis, 'POST', '/v1/mailboxes', {
      connectionId: connection.id, email, pollIntervalSeconds: POLL_INTERVAL_SECONDS, imap, smtp,
    }), 201);
    mailboxes.push({ id: created.id, email });
  }
  const deadline = Date.now() + 90_000;
  for (;;) {
    const list = await callAny<{ items: { lastPollAt: string | null; state: string }[] }>(apis, 'GET', '/v1/mailboxes');
    const waiting = list.json.items?.filter((m) => !m.lastPollAt || m.state !== 'active').length ?? MAILBOXES;
    if (waiting === 0) break;
    if (Date.now() > deadline) throw new Error(`${waiting} mailboxes have no baseline after 90 s`);
    await sleep(500);
  }
  return { subscriptionId: hook.id, connectionId: connection.id, mailboxes };
}

/** Seeded kill plan: which role, at which second after the faults begin. */
function killPlan(rng: Rng): { role: SlotRole; atS: number }[] {
  const roles: SlotRole[] = [];
  for (const [role, n] of Object.entries(KILLS) as [SlotRole, number][]) for (let i = 0; i < n; i++) roles.push(role);
  const span = KILL_WINDOW_S.last - KILL_WINDOW_S.first;
  const slot = span / roles.length;
  // One kill per equal slice of the window, at a random point of it; roles shuffled.
  const shuffled = roles.map((role) => ({ role, key: rng.next() })).sort((a, b) => a.key - b.key).map((r) => r.role);
  return shuffled.map((role, i) => ({ role, atS: Math.round(KILL_WINDOW_S.first + i * slot + rng.next() * slot * 0.8) }));
}

async function measureRecovery(observer: Observer, record: FaultRecord): Promise<FaultRecord> {
  const waited = await observer.waitCaughtUp(record.endedAt, RECOVERY_TIMEOUT_MS, record.aspects);
  if (waited !== undefined) record.recoveredMs = Date.now() - record.endedAt;
  return record;
}

async function runFaults(run: Run, ctx: FaultContext, records: FaultRecord[]): Promise<number> {
  const { rng, slots } = run;
  const phaseStart = Date.now();
  const plan = killPlan(rng);
  log(`kill plan: ${plan.map((k) => `${k.role} at +${k.atS} s`).join(', ')}`);
  let stagesDone = false;
  const recoveries: Promise<unknown>[] = [];
  let workerKills = 0;

  const killer = (async () => {
    for (const kill of plan) {
      while (!stagesDone && Date.now() < phaseStart + kill.atS * 1000) await sleep(250);
      const slot = rng.pick(slots.filter((s) => s.role === kill.role));
      await ctx.traffic.refreshSends();
      const inFlight = ctx.traffic.sends.filter((s) => s.status === 'sending').length;
      const record = await killProcess(ctx, slot, RESTART_AFTER_MS);
      if (kill.role === 'worker') {
        workerKills += 1;
        const effect = record.effect;
        record.effect = () => `${inFlight} sends in 'sending' at the kill; ${effect()}`;
      }
      records.push(record);
      recoveries.push(measureRecovery(ctx.observer, record));
    }
  })();

  const stage = async (name: string, faults: (() => Promise<FaultRecord>)[]): Promise<void> => {
    log(`stage: ${name}`);
    const done = await Promise.all(faults.map(async (f) => {
      const record = await f();
      records.push(record);
      return measureRecovery(ctx.observer, record);
    }));
    for (const r of done) log(`  ${r.fault}: ${r.recoveredMs === undefined ? 'NOT recovered within bound' : `recovered in ${(r.recoveredMs / 1000).toFixed(1)} s`}`);
  };

  await stage('Redis restart (AOF)', [() => redisRestart(ctx, 0)]);
  await stage('Redis unreachable', [() => redisRestart(ctx, REDIS_DOWN_MS)]);
  await stage('Dovecot down, webhook receiver down', [() => dovecotDown(ctx, DOVECOT_DOWN_MS), () => receiverDown(ctx, RECEIVER_DOWN_MS)]);
  await stage('SMTP answers 421', [() => smtpThrottled(ctx, SMTP_421_MS)]);
  await stage('identity down', [() => identityOutage(ctx, 'down', IDENTITY_MS)]);
  await stage('identity slow', [() => identityOutage(ctx, 'slow', IDENTITY_MS)]);
  await stage('identity 500', [() => identityOutage(ctx, 'http500', IDENTITY_MS)]);
  await stage('proxies cut mid-command', [() => proxyCuts(ctx, CUTS_MS)]);
  stagesDone = true;
  await killer;
  await Promise.all(recoveries);
  return workerKills;
}

/** Waits until everything that happened has been dealt with, or the bound. */
async function settle(run: Run, observer: Observer, traffic: Traffic): Promise<void> {
  const since = Date.now();
  let lastReport = 0;
  while (Date.now() - since < SETTLE_TIMEOUT_MS) {
    const why = await observer.lagging(since);
    const deliveries = await observer.deliveries();
    const notDelivered = deliveries?.filter((d) => d.status !== 'delivered').length ?? -1;
    if (notDelivered !== 0) why.push(notDelivered < 0 ? 'deliveries unreadable' : `${notDelivered} deliveries not delivered`);
    const unfinished = traffic.sends.filter((s) => s.id && s.status !== 'sent' && s.status !== 'failed').length;
    if (unfinished > 0) why.push(`${unfinished} sends not finished`);
    const announced = new Set(run.sandbox.receiver.received.filter((d) => d.type === 'message.received')
      .map((d) => (d.body as { data?: { subject?: string } }).data?.subject));
    const missing = traffic.mails.filter((m) => !announced.has(m.subject)).length;
    if (missing > 0) why.push(`${missing} arrived mails not announced`);
    if (why.length === 0) {
      log(`settled in ${((Date.now() - since) / 1000).toFixed(1)} s`);
      return;
    }
    if (Date.now() - lastReport > 10_000) {
      log(`settling: ${why.join('; ')}`);
      lastReport = Date.now();
    }
    await sleep(2_000);
  }
  log(`NOT settled within ${SETTLE_TIMEOUT_MS / 1000} s: the checks below show what is left`);
}

async function main(): Promise<number> {
  const seed = seedFromEnv(process.env);
  log(`seed ${seed} (replay: FAULTS_SEED=${seed} npm run test:faults)`);
  const run = await startSystem(seed);
  log(`run dir ${run.dir} (service logs in logs/, Redis AOF in redis/)`);
  const cleanup = async (keep: boolean): Promise<void> => {
    await Promise.all(run.slots.map((s) => s.stop()));
    await run.imapProxy.stop();
    await run.smtpProxy.stop();
    await run.sandbox.stop();
    if (!keep) await rm(run.dir, { recursive: true, force: true });
  };
  process.once('exit', () => {
    for (const s of run.slots) s.kill();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      for (const s of run.slots) s.kill();
      process.exit(130);
    });
  }

  try {
    await Promise.all(run.slots.map((s) => s.start()));
    log(`processes live: ${run.slots.map((s) => `${s.name} ${s.url} pid ${s.pid()}`).join(', ')}`);
    const { subscriptionId, connectionId, mailboxes } = await provision(run);
    log(`${mailboxes.length} mailboxes polled; subscription ${subscriptionId}`);

    const traffic = new Traffic({
      rng: run.rng, runId: `f${seed}`, mailboxes, dovecot: run.sandbox.dovecot, apis: run.apis, mailEveryMs: MAIL_EVERY_MS, sendEveryMs: SEND_EVERY_MS,
    });
    const observer = createObserver({ slots: run.slots, apis: run.apis, subscriptionId, traffic });
    traffic.start();
    await sleep(WARMUP_MS);
    const baseline = new Map(run.slots.map((s) => [s.name, s.rss() ?? 0]));
    log(`warm-up done: ${traffic.mails.length} mails arrived, ${traffic.sends.length} sends; RSS baseline ${[...baseline].map(([n, b]) => `${n} ${(b / 1048576).toFixed(0)} MB`).join(', ')}`);

    const ctx: FaultContext = {
      sandbox: run.sandbox, imapProxy: run.imapProxy, smtpProxy: run.smtpProxy, traffic, observer, apis: run.apis, connectionId, log,
    };
    const records: FaultRecord[] = [];
    const faultsStart = Date.now();
    const workerKills = await runFaults(run, ctx, records);
    log('faults over: traffic stops; sends not yet accepted are tried until accepted (60 s at most)');
    await traffic.stop();
    await traffic.drain(60_000);
    await settle(run, observer, traffic);

    // ---- The invariants.
    await traffic.refreshSends();
    const received = run.sandbox.receiver.received;
    const mail = checkMail(traffic.mails, received);
    const sends = checkSends({
      sends: traffic.sends, stats: traffic.stats, smtpMessages: run.sandbox.smtp.messages, received, workerKills, sendConcurrency: SEND_CONCURRENCY,
    });
    const events = checkEvents(await observer.deliveries(), received);
    const unready = await observer.unready();
    const processes: Invariant = { name: 'every process ready (/health/ready 200)', violations: unready };
    const memory = checkMemory(run.slots, baseline);
    const invariants = [mail.invariant, sends.invariant, sends.duplicatesInvariant, events.invariant, processes, memory.invariant];

    process.stdout.write('\n== Faults injected\n');
    process.stdout.write(`${faultSummaryTable(records)}\n\n`);
    process.stdout.write(`${faultDetailTable(records, faultsStart)}\n`);
    process.stdout.write('\n== Memory (RSS, MB)\n');
    process.stdout.write(`${table(['process', 'starts', 'baseline', 'after settle', 'bound'], memory.rows.map((r) => [
      r.slot, String(r.generation), r.baselineMb.toFixed(0), r.endMb === undefined ? '-' : r.endMb.toFixed(0), r.boundMb.toFixed(0),
    ]))}\n`);
    const s = sends.summary;
    process.stdout.write('\n== Summary\n');
    process.stdout.write(`${table(['what', 'outcome'], [
      ['mails', `${mail.summary.arrived} arrived, ${mail.summary.announced} announced, ${mail.summary.missing} missing, ${mail.summary.duplicatedById} duplicate deliveries (same webhook-id), ${mail.summary.underSeveralIds} under several ids`],
      ['mail deliveries refused (retried)', `${traffic.stats.mailRefused}${traffic.stats.mailUncertain.length ? `; ${traffic.stats.mailUncertain.length} uncertain (not counted)` : ''}`],
      ['sends', `${s.tried} tried, ${s.accepted} accepted, ${s.sent} sent, ${s.failed} failed${s.failed ? ` (${Object.entries(s.failedBy).map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}, ${s.unfinished} unfinished, ${s.duplicated} duplicated at SMTP (bound ${s.duplicateBound})`],
      ['POST /v1/send not accepted (retried)', `${traffic.stats.sendNotAccepted} (${Object.entries(traffic.stats.sendNotAcceptedBy).map(([k, v]) => `${k === '0' ? 'no answer' : k}: ${v}`).join(', ') || '-'})`],
      ['events', `${events.summary.deliveries} deliveries: ${events.summary.delivered} delivered, ${events.summary.pending} pending, ${events.summary.failed} failed; ${received.length} requests at the receiver`],
      ['processes', `${run.slots.length - unready.length}/${run.slots.length} ready; ${run.slots.map((x) => `${x.name} started ${x.generation}×`).join(', ')}`],
    ])}\n`);
    process.stdout.write('\n== Invariants\n');
    for (const inv of invariants) {
      process.stdout.write(`${inv.violations.length === 0 ? 'PASS' : 'FAIL'}  ${inv.name}\n`);
      for (const v of inv.violations.slice(0, 20)) process.stdout.write(`        ${v}\n`);
    }
    const failed = invariants.some((inv) => inv.violations.length > 0);
    log(`${failed ? 'FAILED' : 'passed'} (seed ${seed}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const keep = failed || process.env.FAULTS_KEEP === '1';
    await cleanup(keep);
    if (keep) log(`kept ${run.dir}`);
    return failed ? 1 : 0;
  } catch (err) {
    log(`suite error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    await cleanup(true).catch(() => undefined);
    log(`kept ${run.dir}`);
    return 1;
  }
}

process.exit(await main());
