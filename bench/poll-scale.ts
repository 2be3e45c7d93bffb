/**
 * bench/poll --phase scale (issue 19): N mailboxes (10,000 by default) on one worker process,
 * polled every 60 s with sessions kept and IDLE on INBOX, against the sandbox's light IMAP
 * imitation (sandbox/lite-imap/; Dovecot forks a process per connection and cannot hold 10,000
 * sessions beside the service on 2 cores). The imitation runs in this bench process.
 *
 * Steps: the mailboxes are created through the service's mailbox service, 32 at a time (what the
 * other phases do, one by one); the worker starts and logs in to every mailbox within about an
 * interval (the warm-up: each first poll takes the baseline and starts IDLE); once every mailbox
 * has been polled and polls run on time again, the steady state is measured for `seconds`, while
 * `mails` messages are injected into random mailboxes.
 *
 * Reported: polls/s, poll lag p50/p99, the worker's CPU (% of a core, ms per poll) and peak RSS,
 * memory per kept session (the worker's RSS, heap and external growth from before its first
 * session to the steady state, over the sessions open: `bench/support/scale-probe.mjs` reads
 * process.memoryUsage() inside the worker; at a few hundred sessions the garbage of the worker's
 * start, collected meanwhile, hides them: read them at thousands), Redis bytes per mailbox (used_memory growth), new
 * mail → webhook latency of the mails IDLE announced, and apart the mails that waited for the
 * scheduled poll (or were not announced), and this process's CPU (the imitation and the receiver).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../sandbox/index.js';
import { startLiteImap, type LiteImap } from '../sandbox/lite-imap/server.js';
import { buildTestApp, type TestApp } from '../test/support/app.js';
import { rawMail } from '../test/support/mail.js';
import { spawnService } from '../test/support/service-process.js';
import { startSubjectReceiver } from './support/subject-receiver.js';
import { cpuSeconds, fmt, percentile, printTable, rssBytes } from './support/stats.js';

export interface ScalePlan {
  mailboxes: number;
  intervalSeconds: number;
  /** The steady state measured, in seconds (mails are injected over it). */
  seconds: number;
  mails: number;
  /** Where the worker's CPU profile of the steady state goes (a directory), if anywhere. */
  cpuProfDir?: string | undefined;
  workerLog?: string | undefined;
  /** Where the worker's V8 heap snapshot at the end of the steady state goes (a file), if anywhere. */
  heapSnapshot?: string | undefined;
}

export const SCALE_DEFAULTS = { mailboxes: 10_000, intervalSeconds: 60, seconds: 120, mails: 200 } as const;

/** Mailboxes created at once through the mailbox service. */
const CREATE_CONCURRENCY = 32;
/** With IDLE, the time the last mail gets to be announced before the window ends. */
const IDLE_BOUND_MS = 5_000;
/** A mail the scheduled poll announced counts as missed by IDLE when that poll was due this long after it or more. */
const IDLE_WAIT_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface PollLine { mailboxId: string; startedAt: number; lagMs: number }

/** `poll finished` lines of a worker, parsed as they come. */
function pollLog(worker: ReturnType<typeof spawnService>): () => PollLine[] {
  let offset = 0;
  const polls: PollLine[] = [];
  return () => {
    const out = worker.stdout();
    const end = out.lastIndexOf('\n') + 1;
    for (const line of out.slice(offset, end).split('\n')) {
      if (!line.includes('"msg":"poll finished"')) continue;
      const l = JSON.parse(line) as PollLine;
      polls.push({ mailboxId: l.mailboxId, startedAt: l.startedAt, lagMs: l.lagMs });
    }
    offset = end;
    return polls;
  };
}

/** Runs `task` over `items`, `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await task(items[next++]!);
  }));
}

interface Memory { rss: number; heapUsed: number; external: number; arrayBuffers: number; at: number }

function readMemory(file: string): Memory | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Memory;
  } catch {
    return undefined;
  }
}

/** The load average now (uptime's three numbers). */
export function loadAverage(): string {
  try {
    return /load average: (.*)$/.exec(execFileSync('uptime').toString().trim())?.[1] ?? 'n/a';
  } catch {
    return 'n/a';
  }
}

/**
 * Which mails IDLE announced: the poll that announced a mail (its mailbox's last poll started
 * before the webhook came) was IDLE's unless it was due exactly one interval after the one before
 * it (the scheduled poll, the safety net) at least IDLE_WAIT_MS after the mail.
 */
function announcedByIdle(sent: Map<string, { at: number; mailboxId: string }>, arrivals: Map<string, number>, polls: PollLine[], intervalMs: number): Set<string> {
  const pollsOf = new Map<string, { startedAt: number; due: number }[]>();
  for (const p of polls) {
    const list = pollsOf.get(p.mailboxId) ?? [];
    list.push({ startedAt: p.startedAt, due: p.startedAt - p.lagMs });
    pollsOf.set(p.mailboxId, list);
  }
  const byIdle = new Set<string>();
  for (const [subject, { at, mailboxId }] of sent) {
    const list = (pollsOf.get(mailboxId) ?? []).sort((a, b) => a.startedAt - b.startedAt);
    const arrival = arrivals.get(subject);
    const index = arrival === undefined ? -1 : list.findLastIndex((p) => p.startedAt <= arrival);
    const poll = list[index];
    const before = list[index - 1];
    const scheduled = !poll || !before || Math.abs(poll.due - (before.due + intervalMs)) < 5;
    if (!scheduled || (poll !== undefined && poll.due - at < IDLE_WAIT_MS)) byIdle.add(subject);
    else process.stdout.write(`  not announced by IDLE: ${subject} at ${new Date(at).toISOString()}, ${arrival === undefined ? 'not announced' : `announced after ${fmt((arrival - at) / 1000, 1)} s`}\n`);
  }
  return byIdle;
}

interface Rig {
  sandbox: Sandbox;
  imap: LiteImap;
  control: TestApp;
  env: Record<string, string>;
}

/** The mailboxes, created through the mailbox service CREATE_CONCURRENCY at a time: email → id. */
async function createMailboxes(rig: Rig, plan: ScalePlan): Promise<Map<string, string>> {
  const { control, sandbox, imap } = rig;
  const connection = await control.deps.services.connections.create({
    name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
    clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
  });
  const emails = Array.from({ length: plan.mailboxes }, (_, i) => `scale-${i}@contoso.example`);
  const idOf = new Map<string, string>();
  const t = performance.now();
  await pool(emails, CREATE_CONCURRENCY, async (email) => {
    const mailbox = await control.deps.services.mailboxes.create({
      connectionId: connection.id, email, pollIntervalSeconds: plan.intervalSeconds, ...sandbox.mailServers(), imap: { host: imap.host, port: imap.port, secure: true },
    });
    idOf.set(email, mailbox.id);
  });
  process.stdout.write(`  ${fmt(plan.mailboxes)} mailboxes created in ${fmt((performance.now() - t) / 1000, 1)} s\n`);
  return idOf;
}

/** The worker, with IDLE and sessions kept, and the probe that reports its memory (and profiles it when asked). */
function spawnWorker(rig: Rig, plan: ScalePlan, files: { memory: string; profile: string | undefined }): ReturnType<typeof spawnService> {
  return spawnService({
    ...rig.env,
    ROLE: 'worker',
    REDIS_PREFIX: rig.control.config.redis.prefix,
    ENCRYPTION_KEY: rig.control.config.encryption.key.toString('base64'),
    LOG_LEVEL: 'debug',
    POLL_IDLE: 'true',
    POLL_KEEP_SESSIONS_UNDER_SECONDS: String(plan.intervalSeconds),
    IMAP_MAX_SESSIONS: String(plan.mailboxes + 100),
    POLL_CONCURRENCY: '50',
    NODE_OPTIONS: `--import ${join(import.meta.dirname, 'support', 'scale-probe.mjs')}`,
    BENCH_MEMORY_FILE: files.memory,
    ...(files.profile ? { BENCH_CPU_PROF_FILE: files.profile } : {}),
    ...(plan.heapSnapshot ? { BENCH_HEAP_SNAPSHOT_FILE: plan.heapSnapshot } : {}),
  });
}

/** Waits until every mailbox was polled once (its baseline taken, its session kept and idling), then until polls run on time. */
async function warmUp(polls: () => PollLine[], rig: Rig, plan: ScalePlan, idling: Set<string>): Promise<void> {
  let t = performance.now();
  const warmDeadline = Date.now() + Math.max(600_000, plan.intervalSeconds * 5000);
  for (;;) {
    const polled = new Set(polls().map((p) => p.mailboxId)).size;
    if (polled >= plan.mailboxes) break;
    if (Date.now() > warmDeadline) throw new Error(`warm-up: ${polled} of ${plan.mailboxes} mailboxes polled`);
    await sleep(1000);
  }
  process.stdout.write(`  every mailbox polled once after ${fmt((performance.now() - t) / 1000, 1)} s (${fmt(rig.imap.connections())} IMAP connections, ${fmt(idling.size)} mailboxes idling)\n`);
  t = performance.now();
  for (const deadline = Date.now() + plan.intervalSeconds * 2000 + 60_000; Date.now() < deadline;) {
    const recent = polls().filter((p) => p.startedAt >= Date.now() - 10_000);
    if (recent.length > 0 && recent.every((p) => p.lagMs < 1000)) {
      process.stdout.write(`  polls on time after ${fmt((performance.now() - t) / 1000, 1)} s more; measuring ${plan.seconds} s…\n`);
      return;
    }
    await sleep(1000);
  }
  process.stdout.write('  polls still late; measuring anyway\n');
}

interface Steady {
  elapsed: number;
  /** Worker CPU seconds, and this process's (the imitation and the receiver). */
  cpu: number;
  ownCpu: number;
  polls: PollLine[];
  rssMax: number;
  rssMaxAt: number;
  sessions: number;
  sent: Map<string, { at: number; mailboxId: string }>;
}

/** The steady state: `plan.seconds` of polling while `plan.mails` mails land in random mailboxes, paced by the clock. */
async function measureSteady(rig: Rig, plan: ScalePlan, pid: number, polls: () => PollLine[], idOf: Map<string, string>, profileFile: string | undefined): Promise<Steady> {
  const from = Date.now();
  const cpu0 = cpuSeconds(pid);
  const ownCpu0 = process.cpuUsage();
  if (profileFile) writeFileSync(`${profileFile}.start`, '');
  let rssMax = rssBytes(pid);
  let rssMaxAt = 0;
  const sampler = setInterval(() => {
    const rss = rssBytes(pid);
    if (rss > rssMax) [rssMax, rssMaxAt] = [rss, Date.now() - from];
  }, 1000);
  const emails = [...idOf.keys()];
  const sent = new Map<string, { at: number; mailboxId: string }>();
  const mailWindow = plan.seconds * 1000 - IDLE_BOUND_MS;
  for (let i = 0; i < plan.mails; i++) {
    const email = emails[Math.floor(Math.random() * emails.length)]!;
    const subject = `scale mail ${i}`;
    sent.set(subject, { at: Date.now(), mailboxId: idOf.get(email)! });
    rig.imap.deliver(email, rawMail(email, subject));
    await sleep(from + ((i + 1) * mailWindow) / plan.mails - Date.now());
  }
  await sleep(from + plan.seconds * 1000 - Date.now());
  clearInterval(sampler);
  const elapsed = (Date.now() - from) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const own = process.cpuUsage(ownCpu0);
  if (profileFile) writeFileSync(`${profileFile}.stop`, '');
  return {
    elapsed, cpu, ownCpu: (own.user + own.system) / 1e6,
    polls: polls().filter((p) => p.startedAt >= from && p.startedAt < from + elapsed * 1000),
    rssMax, rssMaxAt, sessions: rig.imap.connections(), sent,
  };
}

export async function runScale(plan: ScalePlan): Promise<void> {
  const loadBefore = loadAverage();
  const sandbox = await startSandbox();
  const imap = await startLiteImap({ pki: sandbox.pki });
  const env = { ...sandbox.serviceEnv(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
  const control = await buildTestApp(sandbox.redis.url, env);
  const rig: Rig = { sandbox, imap, control, env };
  const receiver = await startSubjectReceiver();
  let worker: ReturnType<typeof spawnService> | undefined;
  try {
    await control.app.inject({ method: 'POST', url: '/v1/webhooks', headers: control.auth, payload: { url: receiver.url, events: ['message.received'] } });
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await control.deps.redis.info('memory'))![1]);
    const redisBefore = await usedMemory();
    const idOf = await createMailboxes(rig, plan);

    const idling = new Set<string>();
    imap.events.on('idle', (user) => user && idling.add(user));
    const memoryFile = join(sandbox.dir, 'worker-memory.json');
    const profileFile = plan.cpuProfDir ? join(plan.cpuProfDir, `poll-scale-${Date.now()}.cpuprofile`) : undefined;
    worker = spawnWorker(rig, plan, { memory: memoryFile, profile: profileFile });
    await worker.waitForLog('workers started', 60_000);
    const pid = worker.child.pid!;
    // Before its first session: the worker's memory the sessions are measured against.
    const spawnedAt = Date.now();
    for (let deadline = Date.now() + 10_000; (readMemory(memoryFile)?.at ?? 0) < spawnedAt && Date.now() < deadline;) await sleep(100);
    const base = { ...readMemory(memoryFile)!, rss: rssBytes(pid), sessions: imap.connections() };
    const polls = pollLog(worker);
    await warmUp(polls, rig, plan, idling);

    const redisCpu = async () => {
      const cpu = await control.deps.redis.info('cpu');
      const stats = await control.deps.redis.info('stats');
      const field = (text: string, name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)![1]);
      return { cpu: field(cpu, 'used_cpu_user') + field(cpu, 'used_cpu_sys'), commands: field(stats, 'total_commands_processed') };
    };
    const redis0 = await redisCpu();
    const steady = await measureSteady(rig, plan, pid, polls, idOf, profileFile);
    const redis1 = await redisCpu();
    await sleep(1500);
    const memory = { ...readMemory(memoryFile)!, rss: rssBytes(pid) };
    const redisAfter = await usedMemory();
    // Mails IDLE missed wait for the scheduled poll: up to an interval more.
    const { arrivals } = receiver;
    for (const deadline = Date.now() + plan.intervalSeconds * 1000 + 5_000; Date.now() < deadline && [...steady.sent.keys()].some((s) => !arrivals.has(s));) await sleep(500);
    if (profileFile) for (let deadline = Date.now() + 30_000; !existsSync(profileFile) && Date.now() < deadline;) await sleep(500);
    if (plan.heapSnapshot) {
      writeFileSync(`${plan.heapSnapshot}.start`, '');
      for (let deadline = Date.now() + 300_000; !existsSync(plan.heapSnapshot) && Date.now() < deadline;) await sleep(500);
    }
    worker.child.kill('SIGTERM');
    await worker.exited;
    if (plan.workerLog) writeFileSync(plan.workerLog, worker.stdout());

    const byIdle = announcedByIdle(steady.sent, arrivals, polls(), plan.intervalSeconds * 1000);
    const latencies = [...steady.sent].filter(([s]) => byIdle.has(s)).map(([s, { at }]) => arrivals.get(s)! - at);
    const lost = [...steady.sent.keys()].filter((s) => !arrivals.has(s)).length;
    const lags = steady.polls.map((p) => p.lagMs);
    const kb = (bytes: number) => fmt(bytes / 1024, 1);
    const perSession = (key: 'rss' | 'heapUsed' | 'external') => kb((memory[key] - base[key]) / Math.max(1, steady.sessions - base.sessions));
    printTable(`bench/poll --phase scale: one worker process, light IMAP imitation (sandbox/lite-imap), 2 cores shared; load average ${loadBefore} before, ${loadAverage()} after`, [
      'phase', 'server', 'IMAP sessions', 'polls/s', 'worker CPU % of a core', 'worker CPU ms/poll', 'lag p50 / p99 ms', 'worker RSS MB (peak)',
      'per kept session KB: RSS / heap / external', 'Redis KB/mailbox', 'new mail → webhook p50 / p99 s (IDLE)', 'not announced by IDLE', 'lite IMAP + receiver CPU %',
    ], [[
      `${fmt(plan.mailboxes)} mailboxes, ${plan.intervalSeconds} s, sessions kept, IDLE`,
      'lite IMAP',
      fmt(steady.sessions),
      fmt(steady.polls.length / steady.elapsed, 1),
      fmt((steady.cpu / steady.elapsed) * 100),
      fmt((steady.cpu * 1000) / steady.polls.length, 2),
      `${fmt(percentile(lags, 50))} / ${fmt(percentile(lags, 99))}`,
      fmt(steady.rssMax / 1024 / 1024),
      `${perSession('rss')} / ${perSession('heapUsed')} / ${perSession('external')}`,
      fmt((redisAfter - redisBefore) / plan.mailboxes / 1024, 2),
      `${fmt(percentile(latencies, 50) / 1000, 2)} / ${fmt(percentile(latencies, 99) / 1000, 2)} (${latencies.length} mails)`,
      `${steady.sent.size - byIdle.size} of ${steady.sent.size}${lost ? ` (${lost} not announced at all)` : ''}`,
      fmt((steady.ownCpu / steady.elapsed) * 100),
    ]]);
    const mb = (bytes: number) => fmt(bytes / 1048576);
    // The capacity model's figure (README): Redis CPU and commands per poll, the whole server's (other users of this Redis count too).
    const redisMsPerPoll = ((redis1.cpu - redis0.cpu) * 1000) / Math.max(1, steady.polls.length);
    process.stdout.write(`\nRedis (the whole server, over the steady state): ${fmt(redisMsPerPoll, 3)} ms of CPU and ${fmt((redis1.commands - redis0.commands) / Math.max(1, steady.polls.length), 1)} commands per poll, ${fmt(((redis1.cpu - redis0.cpu) / steady.elapsed) * 100)} % of a core: one Redis core carries about ${fmt(1000 / redisMsPerPoll)} polls/s of this kind.\n`);
    process.stdout.write(`Worker RSS peak ${mb(steady.rssMax)} MB, ${fmt(steady.rssMaxAt / 1000)} s into the steady state.\n`);
    process.stdout.write(`Worker memory before its first session: RSS ${mb(base.rss)} MB, heap ${mb(base.heapUsed)} MB; at the steady state: RSS ${mb(memory.rss)} MB, heap ${mb(memory.heapUsed)} MB, external ${mb(memory.external)} MB (array buffers ${mb(memory.arrayBuffers)} MB), ${fmt(steady.sessions)} sessions.\n`);
    process.stdout.write('Goals (issue 19): lag p99 < 5 s, worker < 50 % of a core, RSS < 1 GB, Redis < 10 KB/mailbox; every mail announced by IDLE.\n');
    if (plan.heapSnapshot && existsSync(plan.heapSnapshot)) process.stdout.write(`Heap snapshot after the steady state: ${plan.heapSnapshot} (npx tsx bench/support/heap-summary.ts ${plan.heapSnapshot})\n`);
    if (profileFile && existsSync(profileFile)) process.stdout.write(`CPU profile of the steady state: ${profileFile} (npx tsx bench/support/profile-summary.ts ${profileFile})\n`);
  } finally {
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    receiver.close();
    await control.close();
    await imap.stop();
    await sandbox.stop();
  }
}
