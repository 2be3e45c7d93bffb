/**
 * bench/poll: one worker process polling N mailboxes on the sandbox Dovecot.
 * Measures sustained polls/s, poll lag (start past the scheduled moment),
 * new mail → webhook latency, the worker's CPU and RSS, and Redis memory per
 * mailbox. Phases: 1,000 mailboxes with sessions kept, 5,000 with a
 * connection per poll, 1,000 with IDLE (beside the worker, a bare IDLE client
 * on each mailbox that gets mail measures the server's own notice delay, so
 * what mailsync adds after it shows apart). `--quick` shortens every phase.
 * Then a backlog: 5,000 messages land in one mailbox at once (written into its
 * Maildir beforehand, renamed into new/ when the clock starts); how long until
 * every one is published (the cursor past the last) and announced (at the
 * receiver), how many envelopes crossed the wire for it (counted by the sandbox
 * IMAP proxy in front of Dovecot), the worker's CPU and the Redis commands
 * (INFO commandstats) per message.
 *
 * `--tracking` (its own mode, issue 16's Cost section): 1,000 mailboxes of 1,000
 * messages each in INBOX (one Maildir of realistic messages hard-linked into
 * every user's home), polled every 60 s with sessions kept, on one Dovecot and
 * one worker: (a) untracked, (b) the same mailboxes with `track: { flags,
 * deletions, window: 1000 }`, then (c) tracked with POLL_IDLE (a new worker).
 * Flag changes and expunges at random messages of random mailboxes (doveadm)
 * measure change → message.updated / message.deleted. Reported: CPU per poll
 * (worker and Dovecot) tracked vs untracked, worker CPU % and RSS, Redis bytes
 * per mailbox and the tracked window's size (STRLEN of its key).
 *
 *   npm run bench:poll                   (about 9 minutes)
 *   npm run bench:poll -- --quick        (about 2 minutes, smaller N)
 *   npm run bench:poll -- --backlog-only (the backlog alone, about 30 s)
 *   npm run bench:poll -- --tracking     (10-12 minutes; with --quick 200 mailboxes at 20 s, about 3)
 *   npm run bench:poll -- --tracking --full-look   (the same, every tracked poll a full look: its cost)
 *
 * `--phase scale` (issue 19's goal, bench/poll-scale.ts): 10,000 mailboxes on one worker, every 60 s,
 * sessions kept and IDLE on INBOX, against the sandbox's light IMAP imitation (sandbox/lite-imap/)
 * instead of Dovecot, which forks a process per connection and cannot hold 10,000 sessions here. It
 * creates the mailboxes (32 at a time), waits until every one is polled and polls run on time, then
 * measures the steady state (default 120 s, 200 mails injected): lag, worker CPU and RSS, memory per
 * kept session (RSS, heap, external), Redis per mailbox, new mail → webhook by IDLE and the mails
 * IDLE missed. `--mailboxes N --seconds S` make it small; with --quick 1,000 mailboxes for 60 s.
 * Every other phase runs on the sandbox Dovecot.
 *
 * Options of the phases (issue 19: one phase alone, at a size the machine allows, profiled):
 *   --phase kept|connect|idle|scale   only that phase (and no backlog)
 *   --phase two-workers         two worker processes sharing the mailboxes by poll shards, one then killed
 *                               (bench/poll-two-workers.ts; --mailboxes, --seconds of steady state,
 *                               --interval S, --shards N, --imap HOST:PORT[:tls] for another IMAP server,
 *                               --lite-imap for the light IMAP imitation in the bench process, --queue-log FILE
 *                               for each shard's queue every second after the kill)
 *   --mailboxes N               that many mailboxes in each phase run
 *   --seconds S                 each phase runs S seconds
 *   --mails N                   that many mails in each phase run (few: the steady state is mostly unchanged polls)
 *   --interval S                each mailbox polled every S seconds (more polls per second from as many sessions)
 *   --worker-log FILE           the worker's log lines, to FILE
 *   --monitor FILE              every Redis command of 10 s of the steady state, to FILE (MONITOR)
 *   --heap-snapshot FILE        (scale) the worker writes a V8 heap snapshot to FILE after the steady state
 *                               (read it with bench/support/heap-summary.ts)
 *   --cpu-prof DIR              the worker writes a V8 CPU profile of the phase's steady state into DIR
 *                               (bench/support/cpu-profile.mjs; read it with bench/support/profile-summary.ts)
 * With --backlog-only, --cpu-prof, --monitor (its first 3 s) and --worker-log (at debug) cover the backlog.
 * The phase table gives the worker's CPU per poll (ms, from /proc, from the first mail on) and, for
 * IDLE, the mails IDLE did not announce (the poll that announced them was the scheduled one: they
 * waited for the safety net) apart from the latencies of those it did.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { doveadmFor } from '../sandbox/doveadm.js';
import { startImapProxy } from '../sandbox/imap-proxy.js';
import { processTree } from '../sandbox/procfs.js';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox } from '../sandbox/index.js';
import { decodeWindow, encodeWindow } from '../src/store/tracked-windows.js';
import { buildTestApp } from '../test/support/app.js';
import { rawMail } from '../test/support/mail.js';
import { spawnService } from '../test/support/service-process.js';
import { startSubjectReceiver } from './support/subject-receiver.js';
import { watchInboxes, type IdleWatchers } from './support/idle-watchers.js';
import { runTwoWorkers } from './poll-two-workers.js';
import { linkMaildirs, writeMaildir } from './support/maildir.js';
import { monitorRedis } from './support/redis-monitor.js';
import { cpuSeconds, fmt, percentile, printTable, rssBytes } from './support/stats.js';
import { runScale, SCALE_DEFAULTS } from './poll-scale.js';

interface Phase {
  name: string;
  mailboxes: number;
  intervalSeconds: number;
  keepSessions: boolean;
  idle: boolean;
  seconds: number;
  mails: number;
}

const quick = process.argv.includes('--quick');
const fullLook = process.argv.includes('--full-look');

/** Calls per Redis command so far (INFO commandstats). */
async function commandStats(redis: { info(section: string): Promise<string> }): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [, name, calls] of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(name!, Number(calls));
  return out;
}

/** The value after `--name`, or undefined. */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const onlyPhase = option('phase');
if (onlyPhase !== undefined && !['kept', 'connect', 'idle', 'scale', 'two-workers'].includes(onlyPhase)) throw new Error('--phase: kept, connect, idle, scale or two-workers');
const mailboxesOption = option('mailboxes') === undefined ? undefined : Number(option('mailboxes'));
const secondsOption = option('seconds') === undefined ? undefined : Number(option('seconds'));
const mailsOption = option('mails') === undefined ? undefined : Number(option('mails'));
const intervalOption = option('interval') === undefined ? undefined : Number(option('interval'));
const cpuProfDir = option('cpu-prof');
const monitorFile = option('monitor');

/** With IDLE, the time the last mail gets to be announced before the phase ends. */
const IDLE_BOUND_MS = 5_000;
/** A mail the scheduled poll announced counts as missed by IDLE when that poll was due this long after it or more. */
const IDLE_WAIT_MS = 1_000;

const ALL_PHASES: Phase[] = quick
  ? [
      { name: '300 mailboxes, sessions kept', mailboxes: 300, intervalSeconds: 10, keepSessions: true, idle: false, seconds: 40, mails: 30 },
      { name: '1,000 mailboxes, connect per poll', mailboxes: 1000, intervalSeconds: 10, keepSessions: false, idle: false, seconds: 40, mails: 30 },
      { name: '200 mailboxes, IDLE', mailboxes: 200, intervalSeconds: 15, keepSessions: true, idle: true, seconds: 40, mails: 60 },
    ]
  : [
      { name: '1,000 mailboxes, sessions kept', mailboxes: 1000, intervalSeconds: 60, keepSessions: true, idle: false, seconds: 150, mails: 100 },
      { name: '5,000 mailboxes, connect per poll', mailboxes: 5000, intervalSeconds: 60, keepSessions: false, idle: false, seconds: 150, mails: 100 },
      { name: '1,000 mailboxes, IDLE', mailboxes: 1000, intervalSeconds: 30, keepSessions: true, idle: true, seconds: 90, mails: 200 },
    ];
const kindOf = (phase: Phase): string => (phase.idle ? 'idle' : phase.keepSessions ? 'kept' : 'connect');
const PHASES: Phase[] = ALL_PHASES
  .filter((phase) => onlyPhase === undefined || kindOf(phase) === onlyPhase)
  .map((phase) => {
    const mailboxes = mailboxesOption ?? phase.mailboxes;
    const name = phase.name.replace(/^[\d,]+ mailboxes/, `${mailboxes.toLocaleString('en-US')} mailboxes`) + (intervalOption ? `, every ${intervalOption} s` : '');
    return { ...phase, name, mailboxes, seconds: secondsOption ?? phase.seconds, mails: mailsOption ?? phase.mails, intervalSeconds: intervalOption ?? phase.intervalSeconds };
  });

function setInotify(value: number): number | undefined {
  try {
    const before = Number(execFileSync('sysctl', ['-n', 'fs.inotify.max_user_instances']).toString().trim());
    execFileSync('sysctl', ['-qw', `fs.inotify.max_user_instances=${value}`]);
    return before;
  } catch {
    return undefined;
  }
}

async function runPhase(phase: Phase): Promise<(string | number)[]> {
  // With IDLE, a bare IDLE client per mailbox that gets mail (at most one per mail) beside the worker's sessions.
  const sandbox = await startSandbox({ imapConnections: phase.mailboxes + 200 + (phase.idle ? phase.mails : 0) });
  const env = { ...sandbox.serviceEnv(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
  const control = await buildTestApp(sandbox.redis.url, env);
  let watchers: IdleWatchers | undefined;
  const receiver = await startSubjectReceiver();
  const { arrivals } = receiver;
  try {
    await control.app.inject({ method: 'POST', url: '/v1/webhooks', headers: control.auth, payload: { url: receiver.url, events: ['message.received'] } });
    const redisBefore = Number(/used_memory:(\d+)/.exec(await control.deps.redis.info('memory'))![1]);
    const connection = await control.deps.services.connections.create({
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const emails = Array.from({ length: phase.mailboxes }, (_, i) => `bench-${i}@contoso.example`);
    const idOf = new Map<string, string>();
    for (const email of emails) {
      idOf.set(email, (await control.deps.services.mailboxes.create({ connectionId: connection.id, email, pollIntervalSeconds: phase.intervalSeconds, ...sandbox.mailServers() })).id);
    }
    const worker = spawnService({
      ...env,
      ROLE: 'worker',
      REDIS_PREFIX: control.config.redis.prefix,
      ENCRYPTION_KEY: control.config.encryption.key.toString('base64'),
      LOG_LEVEL: 'debug',
      POLL_IDLE: String(phase.idle),
      POLL_KEEP_SESSIONS_UNDER_SECONDS: phase.keepSessions ? String(phase.intervalSeconds) : '0',
      IMAP_MAX_SESSIONS: String(phase.mailboxes + 100),
      POLL_CONCURRENCY: '50',
      // The steady state: from the first mail (every mailbox polled once) to 5 s before the end.
      ...(cpuProfDir ? {
        NODE_OPTIONS: `--import ${join(import.meta.dirname, 'support', 'cpu-profile.mjs')}`,
        BENCH_CPU_PROF_FILE: join(cpuProfDir, `poll-${kindOf(phase)}-${Date.now()}.cpuprofile`),
        BENCH_CPU_PROF_DELAY_MS: String(phase.intervalSeconds * 1000 + 5_000),
        BENCH_CPU_PROF_MS: String(Math.max(5_000, phase.seconds * 1000 - phase.intervalSeconds * 1000 - 10_000)),
      } : {}),
    });
    await worker.waitForLog('workers started');
    const pid = worker.child.pid!;
    const started = Date.now();
    const cpuStart = cpuSeconds(pid);
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssBytes(pid))), 1000);

    // Mail arrives at random mailboxes after the first interval (every mailbox has its baseline: mail
    // before it is, rightly, never announced), and stops early enough to be announced within the run.
    const sent = new Map<string, number>();
    const mailboxOf = new Map<string, string>();
    // Where each mail goes, chosen now: with IDLE, their mailboxes get a bare IDLE client before the first mail.
    const targets = Array.from({ length: phase.mails }, () => emails[Math.floor(Math.random() * emails.length)]!);
    const mailStart = phase.intervalSeconds * 1000 + 5_000;
    const mailWindow = phase.seconds * 1000 - mailStart - (phase.idle ? IDLE_BOUND_MS : phase.intervalSeconds * 1000 + 5_000);
    await new Promise((r) => setTimeout(r, mailStart));
    // The steady state: from here on every mailbox has its session (when kept) and its baseline. On a
    // loaded machine the first polls run late: until each mailbox was polled once, they are the warm-up.
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      const polled = new Set(worker.logs().filter((l) => l.msg === 'poll finished').map((l) => l.mailboxId));
      if (polled.size >= phase.mailboxes) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (phase.idle) {
      watchers = await watchInboxes(targets, {
        ...sandbox.mailServers().imap, caPem: sandbox.pki.caCertPem, signingKey: sandbox.pki.signingKey,
        tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      });
    }
    const steadyFrom = Date.now();
    const steadyCpu = cpuSeconds(pid);
    const steadyCommands = await commandStats(control.deps.redis);
    const monitoring = monitorFile ? monitorRedis(sandbox.redis.url, monitorFile, 10_000) : Promise.resolve(0);
    for (let i = 0; i < phase.mails; i++) {
      const email = targets[i]!;
      const subject = `bench mail ${i}`;
      mailboxOf.set(subject, email);
      sent.set(subject, Date.now());
      await sandbox.dovecot.deliver(email, rawMail(email, subject));
      // Paced by the clock, not by sleeps after each delivery (a delivery takes long on a loaded machine).
      await new Promise((r) => setTimeout(r, Math.max(0, steadyFrom + ((i + 1) * mailWindow) / phase.mails - Date.now())));
    }
    // The last mail gets its time to be announced, also when the deliveries ran late.
    const drainMs = phase.idle ? IDLE_BOUND_MS : phase.intervalSeconds * 1000 + 5_000;
    await new Promise((r) => setTimeout(r, Math.max(0, started + phase.seconds * 1000 - Date.now(), drainMs - (Date.now() - [...sent.values()].at(-1)!))));
    clearInterval(sampler);
    const cpu = cpuSeconds(pid) - cpuStart;
    const cpuSteady = cpuSeconds(pid) - steadyCpu;
    const commands = await commandStats(control.deps.redis);
    await monitoring;
    const elapsed = (Date.now() - started) / 1000;
    const redisAfter = Number(/used_memory:(\d+)/.exec(await control.deps.redis.info('memory'))![1]);
    worker.child.kill('SIGTERM');
    await worker.exited;

    const workerLog = option('worker-log');
    if (workerLog) writeFileSync(workerLog, worker.stdout());
    const finished = worker.logs().filter((l) => l.msg === 'poll finished');
    const polls = finished.filter((l) => (l.startedAt as number) > started + 10_000);
    const lags = polls.map((l) => l.lagMs as number);
    const window = (Math.max(...polls.map((l) => l.startedAt as number)) - (started + 10_000)) / 1000;
    const all = [...sent].filter(([s]) => arrivals.has(s)).map(([s, at]) => arrivals.get(s)! - at);
    const lost = [...sent.keys()].filter((s) => !arrivals.has(s)).length;
    // With IDLE, which poll announced each mail (the last poll of its mailbox started before the event
    // arrived), by the worker's `poll finished` lines (due = startedAt - lagMs): a poll due exactly one
    // interval after the one before it is the scheduled poll (nextPollAt), the safety net; any other
    // was asked for (IDLE's, or another at once after a poll that heard of mail).
    const byIdle = new Set<string>();
    if (phase.idle) {
      const pollsOf = new Map<string, { startedAt: number; due: number }[]>();
      for (const l of finished) {
        const list = pollsOf.get(l.mailboxId as string) ?? [];
        list.push({ startedAt: l.startedAt as number, due: (l.startedAt as number) - (l.lagMs as number) });
        pollsOf.set(l.mailboxId as string, list);
      }
      for (const [subject, at] of sent) {
        const polls = (pollsOf.get(idOf.get(mailboxOf.get(subject)!)!) ?? []).sort((a, b) => a.startedAt - b.startedAt);
        const arrival = arrivals.get(subject);
        const index = arrival === undefined ? -1 : polls.findLastIndex((p) => p.startedAt <= arrival);
        const poll = polls[index];
        const before = polls[index - 1];
        const scheduled = !poll || !before || Math.abs(poll.due - (before.due + phase.intervalSeconds * 1000)) < 5;
        // A scheduled poll due within IDLE_WAIT_MS of the mail came before IDLE's could: the mail did not wait for it.
        if (!scheduled || (poll !== undefined && poll.due - at < IDLE_WAIT_MS)) byIdle.add(subject);
        else {
          const what = arrival === undefined ? 'not announced' : `announced after ${fmt((arrival - at) / 1000, 1)} s by the poll due ${fmt(((poll?.due ?? 0) - at) / 1000, 1)} s after it`;
          process.stdout.write(`  not announced by IDLE: ${subject} to ${mailboxOf.get(subject)} at ${new Date(at).toISOString()}, ${what}\n`);
        }
      }
    }
    // With IDLE the percentiles are of the mails IDLE announced; the others are counted apart.
    const latencies = phase.idle ? [...sent].filter(([s]) => byIdle.has(s)).map(([s, at]) => arrivals.get(s)! - at) : all;
    // The server's own delay (delivery → a bare client's EXISTS), and what mailsync adds after it (→ webhook).
    const notices = new Map<string, number>();
    for (const [subject, at] of sent) {
      const notice = watchers?.noticeAfter(mailboxOf.get(subject)!, at);
      if (notice !== undefined) notices.set(subject, notice);
    }
    const serverDelays = [...notices].map(([s, notice]) => notice - sent.get(s)!);
    const afterNotice = [...notices].filter(([s]) => byIdle.has(s)).map(([s, notice]) => arrivals.get(s)! - notice);
    if (phase.idle) {
      // The slowest after the notice, with the polls of their mailbox around it: where the time went.
      const slowest = [...notices].filter(([s]) => byIdle.has(s)).sort((a, b) => (arrivals.get(b[0])! - b[1]) - (arrivals.get(a[0])! - a[1])).slice(0, 3);
      for (const [subject, notice] of slowest) {
        const around = finished.filter((l) => l.mailboxId === idOf.get(mailboxOf.get(subject)!) && Math.abs((l.startedAt as number) - notice) < 5_000)
          .map((l) => `started ${fmt((l.startedAt as number) - notice)} ms after the notice, due ${fmt((l.startedAt as number) - (l.lagMs as number) - notice)}, took ${fmt(l.durationMs as number)} ms`);
        process.stdout.write(`  slow after the notice: ${subject}, event ${fmt(arrivals.get(subject)! - notice)} ms after it; polls of its mailbox: ${around.join('; ') || 'none within 5 s'}\n`);
      }
      process.stdout.write(`  server's own IDLE notice (bare client, ${notices.size}/${sent.size} heard): p50 ${fmt(percentile(serverDelays, 50) / 1000, 2)} s, p99 ${fmt(percentile(serverDelays, 99) / 1000, 2)} s; `
        + `webhook after the notice: p50 ${fmt(percentile(afterNotice, 50) / 1000, 2)} s, p99 ${fmt(percentile(afterNotice, 99) / 1000, 2)} s\n`);
    }
    const steadyPolls = finished.filter((l) => (l.startedAt as number) >= steadyFrom).length;
    const cpuPerPoll = (cpuSteady * 1000) / steadyPolls;
    // Redis commands per poll over the same window (the worker's, the bench's few INFO calls aside), the most called first.
    const perPoll = [...commands].map(([name, calls]) => [name, (calls - (steadyCommands.get(name) ?? 0)) / steadyPolls] as const)
      .filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1]);
    process.stdout.write(`  Redis commands per poll: ${fmt(perPoll.reduce((a, [, n]) => a + n, 0), 1)} (${perPoll.map(([c, n]) => `${c} ${fmt(n, 1)}`).join(', ')})\n`);
    return [
      phase.name,
      fmt(polls.length / window, 1),
      fmt(cpuPerPoll, 2),
      fmt(percentile(lags, 50)),
      fmt(percentile(lags, 99)),
      `${fmt(percentile(latencies, 50) / 1000, 2)} / ${fmt(percentile(latencies, 99) / 1000, 2)}`,
      phase.idle ? `${fmt(percentile(serverDelays, 50) / 1000, 2)} / ${fmt(percentile(serverDelays, 99) / 1000, 2)}` : '–',
      phase.idle ? `${fmt(percentile(afterNotice, 50) / 1000, 2)} / ${fmt(percentile(afterNotice, 99) / 1000, 2)}` : '–',
      `${all.length}/${sent.size}${lost ? ` (${lost} not yet)` : ''}`,
      phase.idle ? `${sent.size - byIdle.size}${lost ? ` (${lost} not by the end)` : ''}` : '–',
      fmt((cpu / elapsed) * 100),
      fmt(rssMax / 1024 / 1024),
      fmt((redisAfter - redisBefore) / phase.mailboxes / 1024, 2),
    ];
  } finally {
    await watchers?.close();
    receiver.close();
    await control.close();
    await sandbox.stop();
  }
}

const BACKLOG = quick ? 2_000 : 5_000;

/** One mailbox, BACKLOG messages at once, one worker: time to announce them all and envelopes fetched. */
async function runBacklog(): Promise<(string | number)[]> {
  const sandbox = await startSandbox();
  const proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
  const env = { ...sandbox.serviceEnv(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
  const control = await buildTestApp(sandbox.redis.url, env);
  const arrived = new Set<string>();
  let firstArrival = 0;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const subject = (JSON.parse(body) as { data: { subject?: string } }).data.subject;
      if (subject) arrived.add(subject);
      if (arrived.size === 1 && firstArrival === 0) firstArrival = performance.now();
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  try {
    await control.app.inject({ method: 'POST', url: '/v1/webhooks', headers: control.auth, payload: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['message.received'] } });
    const connection = await control.deps.services.connections.create({
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const email = 'backlog@contoso.example';
    const mailbox = await control.deps.services.mailboxes.create({
      connectionId: connection.id, email, pollIntervalSeconds: 1, ...sandbox.mailServers(), imap: { host: '127.0.0.1', port: proxy.port, secure: true },
    });
    const profile = cpuProfDir ? join(cpuProfDir, `poll-backlog-${Date.now()}.cpuprofile`) : undefined;
    const worker = spawnService({
      ...env, ROLE: 'worker', REDIS_PREFIX: control.config.redis.prefix, ENCRYPTION_KEY: control.config.encryption.key.toString('base64'),
      LOG_LEVEL: option('worker-log') ? 'debug' : 'warn', POLL_IDLE: 'false',
      // The profile covers the backlog alone: from the delivery to the last event received.
      ...(profile ? { NODE_OPTIONS: `--import ${join(import.meta.dirname, 'support', 'cpu-profile.mjs')}`, BENCH_CPU_PROF_FILE: profile, BENCH_CPU_PROF_ON: 'SIGUSR2' } : {}),
    });
    try {
      for (let i = 0; !(await control.deps.services.mailboxes.get(mailbox.id)).lastPollAt; i++) {
        if (i > 600) throw new Error('no baseline poll within a minute');
        await new Promise((r) => setTimeout(r, 100));
      }
      // Written beforehand, landing in one moment (renamed into the Maildir): the clock times the service, not the writing.
      const staged = await sandbox.dovecot.stageMany(email, Array.from({ length: BACKLOG }, (_, i) => rawMail(email, `backlog ${i}`)));
      if (profile) worker.child.kill('SIGUSR2');
      const cpuStart = cpuSeconds(worker.child.pid!);
      const commandsBefore = await commandStats(control.deps.redis);
      const monitoring = monitorFile ? monitorRedis(control.deps.redis as unknown as Parameters<typeof monitorRedis>[0], monitorFile, 3_000) : Promise.resolve();
      const fetchedBefore = proxy.fetchResponses;
      const started = performance.now();
      await staged.land();
      const delivered = performance.now();
      // Published: the cursor is past the last message (every delivery created); announced: the receiver has them all.
      const last = (await sandbox.dovecot.status(email, 'INBOX')).uidNext - 1;
      let published = 0;
      for (let i = 0; arrived.size < BACKLOG; i++) {
        if (i > 30_000) throw new Error(`${arrived.size} of ${BACKLOG} announced within 10 minutes`);
        if (published === 0 && i % 3 === 0 && ((await control.deps.services.mailboxes.get(mailbox.id)).folderState.INBOX?.lastSeenUid ?? 0) >= last) published = performance.now();
        await new Promise((r) => setTimeout(r, 20));
      }
      const seconds = (performance.now() - started) / 1000;
      // The last cursor save may come after the last delivery (it follows the publish).
      for (let i = 0; published === 0 && i < 500; i++) {
        if (((await control.deps.services.mailboxes.get(mailbox.id)).folderState.INBOX?.lastSeenUid ?? 0) >= last) published = performance.now();
        else await new Promise((r) => setTimeout(r, 20));
      }
      const cpu = cpuSeconds(worker.child.pid!) - cpuStart;
      const commandsAfter = await commandStats(control.deps.redis);
      await monitoring;
      if (profile) {
        worker.child.kill('SIGUSR2');
        for (let i = 0; i < 100 && !existsSync(profile); i++) await new Promise((r) => setTimeout(r, 100));
      }
      let commands = 0;
      for (const [name, calls] of commandsAfter) if (name !== 'info' && name !== 'monitor') commands += calls - (commandsBefore.get(name) ?? 0);
      const ended = started + seconds * 1000;
      return [
        fmt(BACKLOG), fmt((delivered - started) / 1000, 1), fmt((firstArrival - started) / 1000, 1), published ? fmt((published - started) / 1000, 1) : '-',
        fmt(seconds, 1), fmt(BACKLOG / seconds), fmt(BACKLOG / ((ended - firstArrival) / 1000)), fmt(proxy.fetchResponses - fetchedBefore), fmt(cpu, 1),
        fmt((cpu * 1000) / BACKLOG, 2), fmt(commands / BACKLOG, 1),
      ];
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
      const workerLog = option('worker-log');
      if (workerLog) writeFileSync(workerLog, worker.stdout() + worker.stderr());
    }
  } finally {
    receiver.close();
    await proxy.stop();
    await control.close();
    await sandbox.stop();
  }
}

interface TrackingPlan {
  mailboxes: number;
  messages: number;
  intervalSeconds: number;
  /** Each steady measurement (no change made): one poll interval or more. */
  steadySeconds: number;
  /** Changes made at the polling phase (b), spread over one interval; then one interval and 30 s to drain. */
  changes: number;
  /** Changes made at the IDLE phase (c), spread over idleSeconds; then 10 s to drain. */
  idleChanges: number;
  idleSeconds: number;
}

const TRACKING: TrackingPlan = quick
  ? { mailboxes: 200, messages: 1000, intervalSeconds: 20, steadySeconds: 20, changes: 40, idleChanges: 40, idleSeconds: 20 }
  : { mailboxes: 1000, messages: 1000, intervalSeconds: 60, steadySeconds: 60, changes: 100, idleChanges: 100, idleSeconds: 40 };

/** CPU seconds of the Dovecot master and every process under it (imap, auth, …) that is alive now. */
function dovecotCpu(masterPid: number): number {
  let total = 0;
  for (const p of processTree(masterPid)) {
    try {
      total += cpuSeconds(p.pid);
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

/** `poll finished` log lines of a worker, parsed as they come (the whole output is not re-parsed each time). */
interface PollLine { mailboxId: string; startedAt: number; durationMs: number; lagMs: number }

function pollLog(worker: ReturnType<typeof spawnService>): () => PollLine[] {
  let offset = 0;
  const polls: PollLine[] = [];
  return () => {
    const out = worker.stdout();
    const end = out.lastIndexOf('\n') + 1;
    for (const line of out.slice(offset, end).split('\n')) {
      if (!line.includes('"msg":"poll finished"')) continue;
      const l = JSON.parse(line) as PollLine;
      polls.push({ mailboxId: l.mailboxId, startedAt: l.startedAt, durationMs: l.durationMs, lagMs: l.lagMs });
    }
    offset = end;
    return polls;
  };
}

async function runTracking(): Promise<void> {
  const plan = TRACKING;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  const sandbox = await startSandbox({ imapConnections: plan.mailboxes + 200 });
  const env = { ...sandbox.serviceEnv(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
  const control = await buildTestApp(sandbox.redis.url, env);
  const doveadm = doveadmFor(sandbox.dovecot.configFile);
  const arrivals = new Map<string, number>();
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const event = JSON.parse(body) as { type: string; data: { email: string; uid: number } };
      const key = `${event.type} ${event.data.email} ${event.data.uid}`;
      if (!arrivals.has(key)) arrivals.set(key, performance.timeOrigin + performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await control.deps.redis.info('memory'))![1]);
  let worker: ReturnType<typeof spawnService> | undefined;
  const startWorker = async (idle: boolean) => {
    worker = spawnService({
      ...env, ROLE: 'worker', REDIS_PREFIX: control.config.redis.prefix, ENCRYPTION_KEY: control.config.encryption.key.toString('base64'),
      LOG_LEVEL: 'debug', POLL_IDLE: String(idle), POLL_KEEP_SESSIONS_UNDER_SECONDS: String(plan.intervalSeconds),
      // --full-look: every tracked poll FETCHes every flag (what a full look costs; the default looks every 15 minutes).
      POLL_TRACK_FULL_LOOK_SECONDS: fullLook ? '0' : '900',
      IMAP_MAX_SESSIONS: String(plan.mailboxes + 100), POLL_CONCURRENCY: '50',
    });
    await worker.waitForLog('workers started');
    return { worker, polls: pollLog(worker) };
  };
  const stopWorker = async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    worker = undefined;
  };
  try {
    await control.app.inject({
      method: 'POST', url: '/v1/webhooks', headers: control.auth,
      payload: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['message.updated', 'message.deleted'] },
    });
    const emails = Array.from({ length: plan.mailboxes }, (_, i) => `bench-${i}@contoso.example`);
    let t = performance.now();
    const template = join(sandbox.dir, 'bench-maildir');
    await writeMaildir(template, plan.messages);
    await linkMaildirs(template, join(sandbox.dovecot.dir, 'mail'), emails);
    process.stdout.write(`  ${fmt(plan.mailboxes * plan.messages)} messages in place after ${fmt((performance.now() - t) / 1000, 1)} s\n`);

    const redisBefore = await usedMemory();
    const connection = await control.deps.services.connections.create({
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const ids: string[] = [];
    for (const email of emails) {
      ids.push((await control.deps.services.mailboxes.create({
        connectionId: connection.id, email, pollIntervalSeconds: plan.intervalSeconds, ...sandbox.mailServers(),
      })).id);
    }

    /** Waits until `polls` shows every mailbox polled at least once after `from`. */
    const everyMailboxPolled = async (polls: ReturnType<typeof pollLog>, from: number, what: string) => {
      const deadline = Date.now() + plan.intervalSeconds * 3000 + 60_000;
      for (;;) {
        const seen = new Set(polls().filter((p) => p.startedAt >= from).map((p) => p.mailboxId));
        if (seen.size >= plan.mailboxes) return;
        if (Date.now() > deadline) throw new Error(`${what}: ${seen.size} of ${plan.mailboxes} mailboxes polled`);
        await sleep(1000);
      }
    };
    /** Waits until the worker keeps up again (the baselines take longer than an interval): no poll of the last 10 s started late by 1 s or more. */
    const caughtUp = async (polls: ReturnType<typeof pollLog>) => {
      const deadline = Date.now() + plan.intervalSeconds * 2000;
      for (;;) {
        const recent = polls().filter((p) => p.startedAt >= Date.now() - 10_000);
        if (recent.length > 0 && recent.every((p) => p.lagMs < 1000)) return;
        if (Date.now() > deadline) throw new Error('the worker did not catch up with its polls');
        await sleep(1000);
      }
    };
    /** Worker and Dovecot CPU, RSS and polls over `seconds`, while `during` runs (changes, or nothing). */
    const measure = async (polls: ReturnType<typeof pollLog>, seconds: number, during: () => Promise<void> = async () => undefined) => {
      const pid = worker!.child.pid!;
      const started = Date.now();
      const cpu0 = cpuSeconds(pid);
      const dovecot0 = dovecotCpu(sandbox.dovecot.pid);
      let rssMax = rssBytes(pid);
      const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssBytes(pid))), 1000);
      await during();
      await sleep(started + seconds * 1000 - Date.now());
      clearInterval(sampler);
      const elapsed = (Date.now() - started) / 1000;
      const cpu = cpuSeconds(pid) - cpu0;
      const dovecot = dovecotCpu(sandbox.dovecot.pid) - dovecot0;
      const inWindow = polls().filter((p) => p.startedAt >= started && p.startedAt < started + elapsed * 1000);
      return { elapsed, cpu, dovecot, rssMax, polls: inWindow.length, durations: inWindow.map((p) => p.durationMs) };
    };

    // Changes: a message is changed once (toggling \Seen or \Flagged, 70 %) or expunged (30 %); the
    // event it should cause is keyed by type, mailbox and UID.
    const touched = new Set<string>();
    const change = async (): Promise<[string, number]> => {
      for (;;) {
        const email = emails[Math.floor(Math.random() * emails.length)]!;
        const uid = 1 + Math.floor(Math.random() * plan.messages);
        if (touched.has(`${email} ${uid}`)) continue;
        touched.add(`${email} ${uid}`);
        if (Math.random() < 0.3) {
          const at = Date.now();
          await doveadm(['expunge', '-u', email, 'mailbox', 'INBOX', 'uid', String(uid)]);
          return [`message.deleted ${email} ${uid}`, at];
        }
        const flag = Math.random() < 0.5 ? '\\Seen' : '\\Flagged';
        const has = (await doveadm(['fetch', '-u', email, 'flags', 'mailbox', 'INBOX', 'uid', String(uid)])).includes(flag);
        const at = Date.now();
        await doveadm(['flags', has ? 'remove' : 'add', '-u', email, flag, 'mailbox', 'INBOX', 'uid', String(uid)]);
        return [`message.updated ${email} ${uid}`, at];
      }
    };
    const makeChanges = async (count: number, spreadMs: number, made: Map<string, number>) => {
      const started = Date.now();
      for (let i = 0; i < count; i++) {
        const [key, at] = await change();
        made.set(key, at);
        await sleep(started + ((i + 1) * spreadMs) / count - Date.now());
      }
    };
    const latencies = async (made: Map<string, number>, drainMs: number) => {
      const deadline = Date.now() + drainMs;
      while (Date.now() < deadline && [...made.keys()].some((k) => !arrivals.has(k))) await sleep(250);
      const values = [...made].filter(([k]) => arrivals.has(k)).map(([k, at]) => arrivals.get(k)! - at);
      for (const [k, at] of made) if (!arrivals.has(k)) process.stdout.write(`  not announced: ${k} (changed ${new Date(at).toISOString()})\n`);
      return { values, announced: values.length, made: made.size };
    };

    // (a) untracked. The first poll of each mailbox is Dovecot's first look at its Maildir (it indexes 1,000 files): the warm-up.
    process.stdout.write(`running: (a) ${plan.mailboxes} mailboxes untracked, warm-up…\n`);
    let w = await startWorker(false);
    t = performance.now();
    await everyMailboxPolled(w.polls, 0, 'warm-up');
    process.stdout.write(`  every mailbox polled once after ${fmt((performance.now() - t) / 1000, 1)} s; measuring ${plan.steadySeconds} s…\n`);
    await sleep(5_000);
    const untracked = await measure(w.polls, plan.steadySeconds);
    const redisUntracked = await usedMemory();

    // (b) the same mailboxes tracked: the first poll of each takes the baseline (the flags, then the Message-IDs).
    process.stdout.write(`running: (b) tracked (window ${plan.messages}), baselines…\n`);
    t = performance.now();
    for (const id of ids) await control.deps.services.mailboxes.update(id, { track: { flags: true, deletions: true, window: plan.messages } });
    const windowSizes = async () => {
      const pipeline = control.deps.redis.pipeline();
      for (const id of ids) pipeline.strlen(control.deps.keys.trackedWindow(id, 'INBOX'));
      return ((await pipeline.exec()) ?? []).map(([, n]) => Number(n));
    };
    for (let deadline = Date.now() + plan.intervalSeconds * 3000 + 60_000; (await windowSizes()).some((n) => n === 0);) {
      if (Date.now() > deadline) throw new Error('not every mailbox got its tracked window');
      await sleep(1000);
    }
    process.stdout.write(`  every window in Redis after ${fmt((performance.now() - t) / 1000, 1)} s; measuring ${plan.steadySeconds} s with no change…\n`);
    const sizes = await windowSizes();
    const redisTracked = await usedMemory();
    t = performance.now();
    await caughtUp(w.polls);
    process.stdout.write(`  polls on time again after ${fmt((performance.now() - t) / 1000, 1)} s more\n`);
    const trackedSteady = await measure(w.polls, plan.steadySeconds);
    process.stdout.write(`  ${plan.changes} changes over ${plan.intervalSeconds} s, then waiting for their events…\n`);
    const polledChanges = new Map<string, number>();
    const trackedChanging = await measure(w.polls, plan.intervalSeconds, () => makeChanges(plan.changes, plan.intervalSeconds * 1000, polledChanges));
    const polled = await latencies(polledChanges, plan.intervalSeconds * 1000 + 30_000);
    await stopWorker();

    // (c) tracked, a new worker with IDLE: a change on INBOX triggers a poll at once.
    process.stdout.write(`running: (c) tracked with IDLE, a new worker; waiting until it polled every mailbox…\n`);
    w = await startWorker(true);
    const idleFrom = Date.now();
    await everyMailboxPolled(w.polls, idleFrom, 'IDLE worker');
    await sleep(3_000);
    process.stdout.write(`  ${plan.idleChanges} changes over ${plan.idleSeconds} s…\n`);
    const idleChanges = new Map<string, number>();
    const idle = await measure(w.polls, plan.idleSeconds, () => makeChanges(plan.idleChanges, plan.idleSeconds * 1000, idleChanges));
    const idled = await latencies(idleChanges, 10_000);
    await stopWorker();

    const perMailboxKb = (bytes: number) => fmt(bytes / plan.mailboxes / 1024, 2);
    const row = (name: string, m: Awaited<ReturnType<typeof measure>>, redisKb: string, windowBytes: string, lat?: Awaited<ReturnType<typeof latencies>>) => [
      name,
      fmt(m.polls / m.elapsed, 1),
      fmt((m.cpu * 1000) / m.polls, 2),
      fmt((m.dovecot * 1000) / m.polls, 2),
      `${fmt(percentile(m.durations, 50))} / ${fmt(percentile(m.durations, 99))}`,
      fmt((m.cpu / m.elapsed) * 100),
      fmt(m.rssMax / 1024 / 1024),
      redisKb,
      windowBytes,
      lat ? `${fmt(percentile(lat.values, 50) / 1000, 2)} / ${fmt(percentile(lat.values, 99) / 1000, 2)}` : '–',
      lat ? `${lat.announced}/${lat.made}` : '–',
    ];
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    const windowCell = `${fmt(mean)} (max ${fmt(Math.max(...sizes))})`;
    printTable(`bench/poll --tracking: ${fmt(plan.mailboxes)} mailboxes × ${fmt(plan.messages)} messages, every ${plan.intervalSeconds} s, sessions kept, one worker, sandbox Dovecot, 2 cores`, [
      'phase', 'polls/s', 'worker CPU ms/poll', 'Dovecot CPU ms/poll', 'poll p50 / p99 ms', 'worker CPU %', 'worker RSS MB', 'Redis KB/mailbox', 'window value bytes',
      'change → event p50 / p99 s', 'changes announced',
    ], [
      row('(a) untracked', untracked, perMailboxKb(redisUntracked - redisBefore), '–'),
      row('(b) tracked, no change', trackedSteady, perMailboxKb(redisTracked - redisBefore), windowCell),
      row(`(b) tracked, ${plan.changes} changes (polls)`, trackedChanging, '', '', polled),
      row(`(c) tracked, IDLE, ${plan.idleChanges} changes`, idle, '', '', idled),
    ]);
    const ratio = (trackedSteady.cpu / trackedSteady.polls) / (untracked.cpu / untracked.polls);
    const ratioAll = ((trackedSteady.cpu + trackedSteady.dovecot) / trackedSteady.polls) / ((untracked.cpu + untracked.dovecot) / untracked.polls);
    process.stdout.write(`\nA poll with no change, tracked ÷ untracked: worker CPU ${fmt(ratio, 2)}×, worker + Dovecot CPU ${fmt(ratioAll, 2)}× (goal ≤ 2×).\n`);
    process.stdout.write(`Tracking's Redis: ${perMailboxKb(redisTracked - redisUntracked)} KB/mailbox more than untracked (used_memory), the window value ${fmt(mean / 1024, 2)} KB (goal ≤ 8 KB per mailbox of 1,000 messages).\n`);
    // deletions: false keeps no Message-IDs: the same window encoded that way (what such a mailbox stores).
    const sample = await control.deps.redis.getBuffer(control.deps.keys.trackedWindow(ids[0]!, 'INBOX'));
    if (sample) {
      const window = decodeWindow(sample);
      const flagsOnly = encodeWindow({ ...window, messageIds: false, messages: window.messages.map((m) => ({ ...m, messageId: null })) }).length;
      process.stdout.write(`With deletions: false (no Message-IDs kept), the same window is ${flagsOnly} bytes (${fmt(flagsOnly / 1024, 2)} KB).\n`);
    }
    process.stdout.write(`Between full looks (POLL_TRACK_FULL_LOOK_SECONDS, 900 s) a poll with no change only searches: at a ${plan.intervalSeconds} s interval, one poll in ${Math.max(1, Math.round(900 / plan.intervalSeconds))} takes a full look (not in the no-change row).\n`);
  } finally {
    await stopWorker().catch(() => undefined);
    receiver.close();
    await control.close();
    await sandbox.stop();
  }
}

// --phase scale: its own run (bench/poll-scale.ts), on the light IMAP imitation.
if (onlyPhase === 'scale') {
  await runScale({
    mailboxes: mailboxesOption ?? (quick ? 1_000 : SCALE_DEFAULTS.mailboxes),
    intervalSeconds: SCALE_DEFAULTS.intervalSeconds,
    seconds: secondsOption ?? (quick ? 60 : SCALE_DEFAULTS.seconds),
    mails: quick ? 50 : SCALE_DEFAULTS.mails,
    cpuProfDir,
    workerLog: option('worker-log'),
    heapSnapshot: option('heap-snapshot'),
  });
  process.exit(0);
}

const inotifyBefore = setInotify(4096);
if (onlyPhase === 'two-workers') {
  const imap = option('imap')?.split(':');
  try {
    const mailboxes = mailboxesOption ?? (quick ? 200 : 1000);
    process.stdout.write(`running: two workers, ${mailboxes} mailboxes…\n`);
    const { header, row, server } = await runTwoWorkers({
      mailboxes,
      intervalSeconds: Number(option('interval') ?? (quick ? 15 : 30)),
      steadySeconds: secondsOption ?? (quick ? 20 : 60),
      shards: Number(option('shards') ?? 16),
      ...(option('worker-log') ? { workerLog: option('worker-log')! } : {}),
      ...(option('queue-log') ? { queueLog: option('queue-log')! } : {}),
      ...(process.argv.includes('--lite-imap') ? { liteImap: true } : {}),
      ...(imap ? { imap: { host: imap[0]!, port: Number(imap[1]), secure: imap[2] === 'tls' } } : {}),
    });
    printTable(`bench/poll two-workers: two worker processes by poll shards, one killed (SIGKILL); ${server}, 2 cores`, header, [row]);
  } finally {
    if (inotifyBefore !== undefined) setInotify(inotifyBefore);
  }
  process.exit(0);
}
const rows: (string | number)[][] = [];
const backlogOnly = process.argv.includes('--backlog-only');
if (process.argv.includes('--tracking')) {
  try {
    await runTracking();
  } finally {
    if (inotifyBefore !== undefined) setInotify(inotifyBefore);
  }
  process.exit(0);
}
try {
  for (const phase of backlogOnly ? [] : PHASES) {
    process.stdout.write(`running: ${phase.name} (${phase.seconds} s)…\n`);
    rows.push(await runPhase(phase));
  }
} finally {
  if (inotifyBefore !== undefined) setInotify(inotifyBefore);
}
if (!backlogOnly) {
  printTable('bench/poll: one worker process, sandbox Dovecot, 2 cores', [
    'phase', 'polls/s', 'worker CPU ms/poll', 'lag p50 ms', 'lag p99 ms', 'new mail → event p50 / p99 s', 'server IDLE notice p50 / p99 s', 'event after the notice p50 / p99 s', 'mails announced', 'not announced by IDLE', 'worker CPU %', 'worker RSS MB', 'Redis KB/mailbox',
  ], rows);
  process.stdout.write(`\nWith IDLE, the latencies are of the mails IDLE announced; those that waited for the scheduled poll (due ${IDLE_WAIT_MS / 1000} s or more after them), or were not announced, are counted apart.\n`);
  process.stdout.write('The server\'s IDLE notice is a bare imapflow client idling on the same INBOX (delivery → its EXISTS): the server\'s own delay; "event after the notice" is what mailsync adds.\n');
  process.stdout.write('\nGoals (issue 19): 10,000 mailboxes at 60 s, sessions kept: lag p99 < 5 s, worker < 50 % of a core, RSS < 1 GB, Redis < 10 KB/mailbox; with IDLE at 1,000 mailboxes every mail announced by IDLE, new mail → event p50 < 0.6 s, p99 < 0.8 s (event after the notice p50 < 0.1 s, p99 < 0.3 s).\n');
}
if (onlyPhase !== undefined) process.exit(0);
process.stdout.write(`running: a backlog of ${BACKLOG} messages in one mailbox…\n`);
printTable('Backlog: messages landing in one mailbox at once, one worker (500 per poll, 100 per FETCH)', [
  'messages', 'in Dovecot after s', 'first event after s', 'all published after s', 'all announced after s', 'messages/s', 'messages/s from the first event',
  'envelopes fetched', 'worker CPU s', 'worker CPU ms/message', 'Redis commands/message',
], [await runBacklog()]);
process.exit(0);
