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
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createKeySpace } from '../../src/store/keys.js';
import { checkEvents, checkMail, checkMemory, checkOutput, checkSends, type Invariant } from './checks.js';
import type { ServiceSlot, SlotRole } from './cluster.js';
import {
  dovecotDown, identityOutage, killProcess, proxyCuts, receiverDown, redisRestart, smtpThrottled,
  type FaultContext, type FaultRecord,
} from './faults.js';
import { createObserver, type Observer } from './observe.js';
import { faultDetailTable, faultSummaryTable, table } from './report.js';
import { seedFromEnv, type Rng } from './rng.js';
import { MAILBOXES, SEND_CONCURRENCY, provision, startSystem, type Run } from './system.js';
import { Traffic } from './traffic.js';

// ---- The plan. Durations are the issue's, scaled where noted in README.md ("Fault suite").
const MAIL_EVERY_MS = 500;
const SEND_EVERY_MS = 1_500;
const WARMUP_MS = 15_000;
const REDIS_DOWN_MS = 10_000;
const DOVECOT_DOWN_MS = 30_000;
const RECEIVER_DOWN_MS = 45_000;
const SMTP_421_MS = 20_000;
const IDENTITY_MS = 15_000;
const CUTS_MS = 20_000;
/** Cuts in that window: about two per mailbox behind the IMAP proxy, and 15 messages' DATA. */
const IMAP_CUTS = 2 * Math.ceil(MAILBOXES / 3);
const SMTP_CUTS = 15;
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
 * The whole run stays under 10 minutes (a CI job's budget; a typical run
 * takes about 4): a stage that would begin after STAGES_UNTIL_MS is skipped
 * (and the run fails), and the settle is cut short to end by BUDGET_MS.
 */
const BUDGET_MS = 9.5 * 60_000;
const STAGES_UNTIL_MS = 6.5 * 60_000;

const t0 = Date.now();
const log = (line: string): void => {
  process.stdout.write(`[faults ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

/** Seeded kill plan: which process, at which second after the faults begin. */
function killPlan(rng: Rng, slots: readonly ServiceSlot[]): { slot: ServiceSlot; atS: number }[] {
  const roles: SlotRole[] = [];
  for (const [role, n] of Object.entries(KILLS) as [SlotRole, number][]) for (let i = 0; i < n; i++) roles.push(role);
  const span = KILL_WINDOW_S.last - KILL_WINDOW_S.first;
  const slot = span / roles.length;
  // One kill per equal slice of the window, at a random point of it; roles shuffled.
  const shuffled = roles.map((role) => ({ role, key: rng.next() })).sort((a, b) => a.key - b.key).map((r) => r.role);
  return shuffled.map((role, i) => ({
    slot: rng.pick(slots.filter((s) => s.role === role)),
    atS: Math.round(KILL_WINDOW_S.first + i * slot + rng.next() * slot * 0.8),
  }));
}

async function measureRecovery(observer: Observer, record: FaultRecord): Promise<FaultRecord> {
  const timeoutMs = Math.max(10_000, Math.min(RECOVERY_TIMEOUT_MS, t0 + STAGES_UNTIL_MS - Date.now()));
  const waited = await observer.waitCaughtUp(record.endedAt, timeoutMs, record.aspects, (why) => log(`  ${record.fault} ${record.detail}: waiting for ${why.join('; ')}`));
  if (waited !== undefined) record.recoveredMs = Date.now() - record.endedAt;
  record.outcome = record.effect();
  return record;
}

async function runFaults(run: Run, ctx: FaultContext, records: FaultRecord[], skipped: string[]): Promise<number> {
  const phaseStart = Date.now();
  const plan = killPlan(run.planRng, run.slots);
  log(`kill plan: ${plan.map((k) => `${k.slot.name} at +${k.atS} s`).join(', ')}`);
  let stagesDone = false;
  const recoveries: Promise<unknown>[] = [];
  let workerKills = 0;

  const killer = (async () => {
    for (const kill of plan) {
      while (!stagesDone && Date.now() < phaseStart + kill.atS * 1000) await sleep(250);
      const { slot } = kill;
      await ctx.traffic.refreshSends();
      const inFlight = ctx.traffic.sends.filter((s) => s.status === 'sending').length;
      const record = await killProcess(ctx, slot, RESTART_AFTER_MS);
      if (slot.role === 'worker') {
        workerKills += 1;
        const effect = record.effect;
        record.effect = () => `${inFlight} sends in 'sending' at the kill; ${effect()}`;
      }
      records.push(record);
      recoveries.push(measureRecovery(ctx.observer, record));
    }
  })();

  const stage = async (name: string, faults: (() => Promise<FaultRecord>)[]): Promise<void> => {
    if (Date.now() - t0 > STAGES_UNTIL_MS) {
      log(`stage skipped (time budget): ${name}`);
      skipped.push(name);
      return;
    }
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
  await stage('proxies cut mid-command', [() => proxyCuts(ctx, CUTS_MS, { imap: IMAP_CUTS, smtp: SMTP_CUTS })]);
  stagesDone = true;
  await killer;
  await Promise.all(recoveries);
  return workerKills;
}

/** Waits until everything that happened has been dealt with, or the bound. */
async function settle(run: Run, observer: Observer, traffic: Traffic): Promise<void> {
  const since = Date.now();
  // Room left for the checks and the cleanup.
  const timeoutMs = Math.max(30_000, Math.min(SETTLE_TIMEOUT_MS, t0 + BUDGET_MS - 30_000 - since));
  let lastReport = 0;
  while (Date.now() - since < timeoutMs) {
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
  log(`NOT settled within ${Math.round(timeoutMs / 1000)} s: the checks below show what is left`);
}

async function main(): Promise<number> {
  const seed = seedFromEnv(process.env);
  log(`seed ${seed} (replay: FAULTS_SEED=${seed} npm run test:faults)`);
  const run = await startSystem(seed);
  log(`run dir ${run.dir} (service logs in logs/, Redis AOF in redis/)`);
  const closers: (() => Promise<void>)[] = [];
  const cleanup = async (keep: boolean): Promise<void> => {
    for (const close of closers) await close();
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
      rng: run.trafficRng, runId: `f${seed}`, mailboxes, dovecot: run.sandbox.dovecot, apis: run.apis, mailEveryMs: MAIL_EVERY_MS, sendEveryMs: SEND_EVERY_MS,
    });
    const keys = createKeySpace(run.env.REDIS_PREFIX!);
    const inspector = new Redis(run.sandbox.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 500 });
    inspector.on('error', () => undefined);
    closers.push(async () => inspector.disconnect());
    const observer = createObserver({
      slots: run.slots, apis: run.apis, subscriptionId, traffic,
      // Read-only: where a mailbox that is active but not polled stands (its poll lock, its due time).
      explainIdle: async (ids) => (await Promise.all(ids.map(async (id) => {
        const [lockTtl, due] = await Promise.all([inspector.pttl(keys.pollLock(id)), inspector.zscore(keys.pollDue(keys.pollShardOf(id)), id)]).catch(() => [undefined, undefined]);
        return `${id} poll lock ${typeof lockTtl === 'number' && lockTtl > 0 ? `held ${(lockTtl / 1000).toFixed(0)} s more` : 'free'}, due ${due ? `in ${((Number(due) - Date.now()) / 1000).toFixed(0)} s` : '-'}`;
      }))).join('; '),
    });
    traffic.start();
    await sleep(WARMUP_MS);
    const baseline = new Map(run.slots.map((s) => [s.name, s.rss() ?? 0]));
    log(`warm-up done: ${traffic.mails.length} mails arrived, ${traffic.sends.length} sends; RSS baseline ${[...baseline].map(([n, b]) => `${n} ${(b / 1048576).toFixed(0)} MB`).join(', ')}`);

    const ctx: FaultContext = {
      sandbox: run.sandbox, imapProxy: run.imapProxy, smtpProxy: run.smtpProxy, traffic, observer, apis: run.apis, connectionId, log,
    };
    const records: FaultRecord[] = [];
    const skipped: string[] = [];
    const faultsStart = Date.now();
    const workerKills = await runFaults(run, ctx, records, skipped);
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
    const planned: Invariant = { name: 'every planned fault injected', violations: skipped.map((name) => `skipped (time budget): ${name}`) };
    const invariants = [
      planned, mail.invariant, sends.invariant, sends.duplicatesInvariant, events.invariant, processes, memory.invariant, checkOutput(run.slots),
    ];

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
