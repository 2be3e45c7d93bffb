/**
 * bench/poll `--phase two-workers` (issue 19, "Past one machine"): two worker
 * processes share N mailboxes through the poll shards (POLL_SHARDS), with
 * sessions kept. Reported: each worker's share of the mailboxes (by the polls
 * of a steady interval), the lag; then one worker is killed (SIGKILL) and
 * reported: the time until the survivor has polled every mailbox, and the
 * largest lag of its polls until then (the spike).
 *
 * The IMAP server is the sandbox Dovecot unless `imap` is given: the seam for
 * a lighter IMAP imitation that carries 20,000 mailboxes (sandbox/lite-imap,
 * issue 19): any server that accepts the sandbox identity platform's XOAUTH2
 * tokens for `two-<i>@contoso.example`.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { Redis as IORedis } from 'ioredis';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox } from '../sandbox/index.js';
import { startLiteImap, type LiteImap } from '../sandbox/lite-imap/server.js';
import { buildTestApp } from '../test/support/app.js';
import { spawnService, type ServiceProcess } from '../test/support/service-process.js';
import { cpuSeconds, fmt, percentile, rssBytes } from './support/stats.js';

export interface TwoWorkersOptions {
  mailboxes: number;
  intervalSeconds: number;
  /** Steady state measured for this long before the kill (s). */
  steadySeconds: number;
  shards: number;
  /** The survivor's log lines, to this file. */
  workerLog?: string;
  /** Each shard's poll queue states, every second from the kill until the survivor polled every mailbox, to this file (JSON lines). */
  queueLog?: string;
  /** The light IMAP imitation (sandbox/lite-imap), in this process, on the sandbox's PKI, instead of Dovecot. */
  liteImap?: boolean;
  /** Another IMAP server than the sandbox Dovecot (the seam for sandbox/lite-imap). */
  imap?: { host: string; port: number; secure: boolean };
}

interface Poll { mailboxId: string; start: number; lagMs: number }

const pollsOf = (w: ServiceProcess): Poll[] => w.logs()
  .filter((l) => l.msg === 'poll finished')
  .map((l) => ({ mailboxId: l.mailboxId as string, start: l.startedAt as number, lagMs: l.lagMs as number }));
const shardCount = (w: ServiceProcess): number | undefined => w.logs().filter((l) => l.msg === 'poll shards changed').at(-1)?.owned as number | undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`bench: ${what} not within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** The table's header and one row. */
export async function runTwoWorkers(options: TwoWorkersOptions): Promise<{ header: string[]; row: (string | number)[]; server: string }> {
  const { mailboxes, intervalSeconds, shards } = options;
  const sandbox = await startSandbox(options.liteImap ? {} : { imapConnections: mailboxes + 200 });
  const lite: LiteImap | undefined = options.liteImap ? await startLiteImap({ pki: sandbox.pki }) : undefined;
  const env = { ...sandbox.serviceEnv(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', POLL_SHARDS: String(shards) };
  const control = await buildTestApp(sandbox.redis.url, env);
  const workers: ServiceProcess[] = [];
  try {
    const connection = await control.deps.services.connections.create({
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const other = lite ? { host: lite.host, port: lite.port, secure: true } : options.imap;
    const servers = { ...sandbox.mailServers(), ...(other ? { imap: other } : {}) };
    const ids: string[] = [];
    for (let i = 0; i < mailboxes; i++) {
      ids.push((await control.deps.services.mailboxes.create({ connectionId: connection.id, email: `two-${i}@contoso.example`, pollIntervalSeconds: intervalSeconds, ...servers })).id);
    }
    const start = async (): Promise<ServiceProcess> => {
      const worker = spawnService({
        ...env, ROLE: 'worker', REDIS_PREFIX: control.config.redis.prefix, ENCRYPTION_KEY: control.config.encryption.key.toString('base64'),
        LOG_LEVEL: 'debug', POLL_IDLE: 'false', POLL_KEEP_SESSIONS_UNDER_SECONDS: String(intervalSeconds),
        IMAP_MAX_SESSIONS: String(mailboxes + 100), POLL_CONCURRENCY: '50', POLL_SHARD_LOOK_MS: '1000',
      });
      workers.push(worker);
      await worker.waitForLog('workers started', 60_000);
      return worker;
    };
    const [a, b] = [await start(), await start()];
    const split = await waitFor('the shards split', () => (shardCount(a) === shards / 2 && shardCount(b) === shards / 2 ? Date.now() : undefined), 60_000);
    // Warm-up: every mailbox polled once after the split (its session opened in its owner), then a steady window.
    // Every mailbox is due at once when created: the first round is a backlog of fresh logins (about 110 s at 10,000).
    await waitFor('every mailbox polled after the split', () => {
      const polled = new Set([...pollsOf(a), ...pollsOf(b)].filter((p) => p.start > split).map((p) => p.mailboxId));
      return polled.size >= mailboxes ? true : undefined;
    }, (intervalSeconds + 120 + mailboxes / 50) * 1000);
    const steadyFrom = Date.now();
    const cpu0 = [cpuSeconds(a.child.pid!), cpuSeconds(b.child.pid!)];
    await sleep(options.steadySeconds * 1000);
    const steadyTo = Date.now();
    const cpuPct = [a, b].map((w, i) => ((cpuSeconds(w.child.pid!) - cpu0[i]!) / ((steadyTo - steadyFrom) / 1000)) * 100);
    const rss = [a, b].map((w) => rssBytes(w.child.pid!) / 1024 / 1024);
    const steady = (w: ServiceProcess): Poll[] => pollsOf(w).filter((p) => p.start >= steadyFrom && p.start < steadyTo);
    const share = [a, b].map((w) => new Set(steady(w).map((p) => p.mailboxId)).size);
    const both = new Set(steady(a).map((p) => p.mailboxId)).size + new Set(steady(b).map((p) => p.mailboxId)).size - new Set([...steady(a), ...steady(b)].map((p) => p.mailboxId)).size;
    const steadyLags = [...steady(a), ...steady(b)].map((p) => p.lagMs);

    // The kill: how long until the survivor polled every mailbox, and its largest lag meanwhile.
    const killedAt = Date.now();
    b.child.kill('SIGKILL');
    const sampler = options.queueLog ? sampleQueues(sandbox.redis.url, control.config.redis.prefix, shards, killedAt, options.queueLog) : undefined;
    await b.exited;
    const taken = await waitFor('every mailbox polled by the survivor', () => {
      const first = new Map<string, Poll>();
      for (const p of pollsOf(a).filter((x) => x.start > killedAt).sort((x, y) => x.start - y.start)) if (!first.has(p.mailboxId)) first.set(p.mailboxId, p);
      return first.size >= mailboxes ? first : undefined;
    }, 300_000);
    sampler?.stop();
    const allPolledAt = Math.max(...[...taken.values()].map((p) => p.start));
    const takeoverLags = pollsOf(a).filter((p) => p.start > killedAt && p.start <= allPolledAt).map((p) => p.lagMs);
    if (options.workerLog) {
      writeFileSync(options.workerLog, a.stdout());
      writeFileSync(`${options.workerLog}.killed`, b.stdout());
    }
    const shardsTakenAt = a.logs().filter((l) => l.msg === 'poll shards changed' && (l.time as number) > killedAt).at(0)?.time as number | undefined;
    return {
      server: lite ? 'light IMAP imitation (sandbox/lite-imap, in the bench process)' : options.imap ? `IMAP at ${options.imap.host}:${options.imap.port}` : 'sandbox Dovecot',
      header: ['mailboxes', 'shards', 'interval s', 'share A / B (of the mailboxes polled in the steady window)', 'polled by both', 'steady lag p50 / p99 ms', 'worker CPU % A / B', 'RSS MB A / B', 'shards taken after s', 'all polled by the survivor after s', 'lag during takeover p99 / max s'],
      row: [
        mailboxes, shards, intervalSeconds,
        `${share[0]} / ${share[1]} (${fmt((share[0]! / mailboxes) * 100, 1)} % / ${fmt((share[1]! / mailboxes) * 100, 1)} %)`,
        both,
        `${fmt(percentile(steadyLags, 50))} / ${fmt(percentile(steadyLags, 99))}`,
        `${fmt(cpuPct[0]!)} / ${fmt(cpuPct[1]!)}`,
        `${fmt(rss[0]!)} / ${fmt(rss[1]!)}`,
        shardsTakenAt === undefined ? 'n/a' : fmt((shardsTakenAt - killedAt) / 1000, 1),
        fmt((allPolledAt - killedAt) / 1000, 1),
        `${fmt(percentile(takeoverLags, 99) / 1000, 1)} / ${fmt(Math.max(...takeoverLags) / 1000, 1)}`,
      ],
    };
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await control.close();
    await lite?.stop();
    await sandbox.stop();
  }
}

/**
 * Every second, each shard's poll queue: jobs waiting, active, delayed, delayed and already due
 * (their time passed but no worker moved them), and the marker a blocked worker waits on.
 */
function sampleQueues(url: string, prefix: string, shards: number, from: number, file: string): { stop(): void } {
  const redis = new IORedis(url);
  writeFileSync(file, '');
  const timer = setInterval(() => {
    void (async () => {
      const now = Date.now();
      const rows = await Promise.all(Array.from({ length: shards }, async (_, n) => {
        const q = `{${prefix}:poll:${n}}:poll`;
        const [wait, active, delayed, due, marker] = await Promise.all([
          redis.llen(`${q}:wait`), redis.llen(`${q}:active`), redis.zcard(`${q}:delayed`),
          redis.zcount(`${q}:delayed`, '-inf', String(now * 0x1000)), redis.zrange(`${q}:marker`, '0', '-1', 'WITHSCORES'),
        ]);
        return { shard: n, wait, active, delayed, due, marker: marker.length ? marker : undefined };
      }));
      appendFileSync(file, `${JSON.stringify({ t: (now - from) / 1000, rows })}\n`);
    })().catch(() => undefined);
  }, 1000);
  return { stop: () => { clearInterval(timer); redis.disconnect(); } };
}
