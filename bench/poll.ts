/**
 * bench/poll: one worker process polling N mailboxes on the sandbox Dovecot.
 * Measures sustained polls/s, poll lag (start past the scheduled moment),
 * new mail → webhook latency, the worker's CPU and RSS, and Redis memory per
 * mailbox. Phases: 1,000 mailboxes with sessions kept, 5,000 with a
 * connection per poll, 500 with IDLE. `--quick` shortens every phase.
 * Then a backlog: 5,000 messages land in one mailbox at once; how long until
 * every one is announced, and how many envelopes crossed the wire for it
 * (counted by the sandbox IMAP proxy in front of Dovecot).
 *
 *   npm run bench:poll                   (about 9 minutes)
 *   npm run bench:poll -- --quick        (about 2 minutes, smaller N)
 *   npm run bench:poll -- --backlog-only (the backlog alone, about 30 s)
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startImapProxy } from '../sandbox/imap-proxy.js';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox } from '../sandbox/index.js';
import { buildTestApp } from '../test/support/app.js';
import { rawMail } from '../test/support/mail.js';
import { spawnService } from '../test/support/service-process.js';
import { cpuSeconds, fmt, percentile, printTable, rssBytes } from './support/stats.js';

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
const PHASES: Phase[] = quick
  ? [
      { name: '300 mailboxes, sessions kept', mailboxes: 300, intervalSeconds: 10, keepSessions: true, idle: false, seconds: 40, mails: 30 },
      { name: '1,000 mailboxes, connect per poll', mailboxes: 1000, intervalSeconds: 10, keepSessions: false, idle: false, seconds: 40, mails: 30 },
      { name: '200 mailboxes, IDLE', mailboxes: 200, intervalSeconds: 15, keepSessions: true, idle: true, seconds: 40, mails: 60 },
    ]
  : [
      { name: '1,000 mailboxes, sessions kept', mailboxes: 1000, intervalSeconds: 60, keepSessions: true, idle: false, seconds: 150, mails: 100 },
      { name: '5,000 mailboxes, connect per poll', mailboxes: 5000, intervalSeconds: 60, keepSessions: false, idle: false, seconds: 150, mails: 100 },
      { name: '500 mailboxes, IDLE', mailboxes: 500, intervalSeconds: 30, keepSessions: true, idle: true, seconds: 80, mails: 200 },
    ];

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
  const sandbox = await startSandbox({ imapConnections: phase.mailboxes + 200 });
  const env = { ...sandbox.serviceEnv(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
  const control = await buildTestApp(sandbox.redis.url, env);
  const arrivals = new Map<string, number>();
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const subject = (JSON.parse(body) as { data: { subject?: string } }).data.subject;
      if (subject && !arrivals.has(subject)) arrivals.set(subject, performance.timeOrigin + performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  try {
    await control.app.inject({ method: 'POST', url: '/v1/webhooks', headers: control.auth, payload: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['message.received'] } });
    const redisBefore = Number(/used_memory:(\d+)/.exec(await control.deps.redis.info('memory'))![1]);
    const connection = await control.deps.services.connections.create({
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const emails = Array.from({ length: phase.mailboxes }, (_, i) => `bench-${i}@contoso.example`);
    for (const email of emails) {
      await control.deps.services.mailboxes.create({ connectionId: connection.id, email, pollIntervalSeconds: phase.intervalSeconds, ...sandbox.mailServers() });
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
    const mailStart = phase.intervalSeconds * 1000 + 5_000;
    const mailWindow = phase.seconds * 1000 - mailStart - (phase.idle ? 5_000 : phase.intervalSeconds * 1000 + 5_000);
    await new Promise((r) => setTimeout(r, mailStart));
    for (let i = 0; i < phase.mails; i++) {
      const email = emails[Math.floor(Math.random() * emails.length)]!;
      const subject = `bench mail ${i}`;
      sent.set(subject, Date.now());
      await sandbox.dovecot.deliver(email, rawMail(email, subject));
      await new Promise((r) => setTimeout(r, Math.max(0, mailWindow / phase.mails)));
    }
    await new Promise((r) => setTimeout(r, Math.max(0, started + phase.seconds * 1000 - Date.now())));
    clearInterval(sampler);
    const cpu = cpuSeconds(pid) - cpuStart;
    const elapsed = (Date.now() - started) / 1000;
    const redisAfter = Number(/used_memory:(\d+)/.exec(await control.deps.redis.info('memory'))![1]);
    worker.child.kill('SIGTERM');
    await worker.exited;

    const polls = worker.logs().filter((l) => l.msg === 'poll finished' && (l.startedAt as number) > started + 10_000);
    const lags = polls.map((l) => l.lagMs as number);
    const window = (Math.max(...polls.map((l) => l.startedAt as number)) - (started + 10_000)) / 1000;
    const latencies = [...sent].filter(([s]) => arrivals.has(s)).map(([s, at]) => arrivals.get(s)! - at);
    const lost = [...sent.keys()].filter((s) => !arrivals.has(s)).length;
    return [
      phase.name,
      fmt(polls.length / window, 1),
      fmt(percentile(lags, 50)),
      fmt(percentile(lags, 99)),
      `${fmt(percentile(latencies, 50) / 1000, 2)} / ${fmt(percentile(latencies, 99) / 1000, 2)}`,
      `${latencies.length}/${sent.size}${lost ? ` (${lost} not yet)` : ''}`,
      fmt((cpu / elapsed) * 100),
      fmt(rssMax / 1024 / 1024),
      fmt((redisAfter - redisBefore) / phase.mailboxes / 1024, 2),
    ];
  } finally {
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
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const subject = (JSON.parse(body) as { data: { subject?: string } }).data.subject;
      if (subject) arrived.add(subject);
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
    const worker = spawnService({
      ...env, ROLE: 'worker', REDIS_PREFIX: control.config.redis.prefix, ENCRYPTION_KEY: control.config.encryption.key.toString('base64'), LOG_LEVEL: 'warn', POLL_IDLE: 'false',
    });
    try {
      for (let i = 0; !(await control.deps.services.mailboxes.get(mailbox.id)).lastPollAt; i++) {
        if (i > 600) throw new Error('no baseline poll within a minute');
        await new Promise((r) => setTimeout(r, 100));
      }
      const cpuStart = cpuSeconds(worker.child.pid!);
      const fetchedBefore = proxy.fetchResponses;
      const started = performance.now();
      await sandbox.dovecot.deliverMany(email, Array.from({ length: BACKLOG }, (_, i) => rawMail(email, `backlog ${i}`)));
      for (let i = 0; arrived.size < BACKLOG; i++) {
        if (i > 6_000) throw new Error(`${arrived.size} of ${BACKLOG} announced within 10 minutes`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (performance.now() - started) / 1000;
      return [fmt(BACKLOG), fmt(seconds, 1), fmt(BACKLOG / seconds), fmt(proxy.fetchResponses - fetchedBefore), fmt(cpuSeconds(worker.child.pid!) - cpuStart, 1)];
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  } finally {
    receiver.close();
    await proxy.stop();
    await control.close();
    await sandbox.stop();
  }
}

const inotifyBefore = setInotify(4096);
const rows: (string | number)[][] = [];
const backlogOnly = process.argv.includes('--backlog-only');
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
    'phase', 'polls/s', 'lag p50 ms', 'lag p99 ms', 'new mail → event p50 / p99 s', 'mails announced', 'worker CPU %', 'worker RSS MB', 'Redis KB/mailbox',
  ], rows);
  process.stdout.write('\nGoals: 5,000 mailboxes at 60 s with lag p99 < 5 s, RSS < 1 GB, Redis < 10 KB/mailbox; with IDLE at 500 mailboxes new mail → event p50 < 0.7 s, p99 < 1.5 s.\n');
}
process.stdout.write(`running: a backlog of ${BACKLOG} messages in one mailbox…\n`);
printTable('Backlog: messages landing in one mailbox at once, one worker (500 per poll, 100 per FETCH)', [
  'messages', 'all announced after s', 'messages/s', 'envelopes fetched', 'worker CPU s',
], [await runBacklog()]);
process.exit(0);
