/**
 * bench/actions: what acting on mail costs through the API. Self-contained
 * (starts its own sandbox), about a minute.
 *
 *   npm run bench:actions
 *   BENCH_SECONDS=10 BENCH_CONCURRENCY=32 npm run bench:actions
 *
 * The app (the production builder, listening on a port) answers PATCH
 * …/messages/{uid} (toggling \Seen) sent by `BENCH_CONCURRENCY` clients for
 * `BENCH_SECONDS`, first all to one mailbox, then spread over 100 mailboxes.
 * Reported: actions/s, p50/p99 latency, and IMAP logins per action
 * (mailsync_imap_logins_total{purpose="action"}): with sessions reused it
 * tends to 0, one login per mailbox for the whole run.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox } from '../sandbox/index.js';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../test/support/app.js';
import { rawMail } from '../test/support/mail.js';
import { fmt, percentile, printTable } from './support/stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const MESSAGES_PER_MAILBOX = 20;
const headers = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };

interface Run { actions: number; perSecond: number; p50: number; p99: number; errors: number; logins: number }

async function logins(t: TestApp): Promise<number> {
  return (await t.deps.metrics.imapLogins.get()).values.filter((v) => v.labels.purpose === 'action').reduce((n, v) => n + v.value, 0);
}

async function run(t: TestApp, base: string, mailboxIds: string[]): Promise<Run> {
  const before = await logins(t);
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = n++;
      const id = mailboxIds[i % mailboxIds.length];
      const uid = 1 + (Math.floor(i / mailboxIds.length) % MESSAGES_PER_MAILBOX);
      const started = performance.now();
      const res = await fetch(`${base}/v1/mailboxes/${id}/messages/${uid}`, { method: 'PATCH', headers, body: JSON.stringify({ seen: i % 2 === 0 }) });
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      if (res.status !== 200) errors += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    actions: latencies.length,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    logins: (await logins(t)) - before,
  };
}

const sandbox = await startSandbox({ imapConnections: 400 });
try {
  const t = await buildTestApp(sandbox.redis.url, { ...sandbox.serviceEnv(), LOG_LEVEL: 'warn' });
  try {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const connection = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers,
      payload: { name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    const connectionId = connection.json().id as string;
    const mailboxes: string[] = [];
    for (let m = 0; m < 100; m += 1) {
      const email = `bench-act-${m}-${randomBytes(2).toString('hex')}@contoso.example`;
      await sandbox.dovecot.deliverMany(email, Array.from({ length: MESSAGES_PER_MAILBOX }, (_, i) => rawMail(email, `message ${i}`)));
      const res = await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers, payload: { connectionId, email, pollIntervalSeconds: 3600, ...sandbox.mailServers() } });
      mailboxes.push(res.json().id as string);
    }
    const one = await run(t, base, mailboxes.slice(0, 1));
    const hundred = await run(t, base, mailboxes);
    printTable(`PATCH …/messages/{uid} (toggle \\Seen) through the API, ${CONCURRENCY} clients, ${SECONDS} s each; app, Redis, Dovecot and the clients share 2 cores`,
      ['mailboxes', 'actions', 'actions/s', 'p50 ms', 'p99 ms', 'errors', 'IMAP logins', 'logins per action'],
      [[1, one], [100, hundred]].map(([count, r]) => {
        const x = r as Run;
        return [count as number, x.actions, fmt(x.perSecond), fmt(x.p50, 1), fmt(x.p99, 1), x.errors, x.logins, fmt(x.logins / Math.max(1, x.actions), 4)];
      }));
  } finally {
    await t.close();
  }
} finally {
  await sandbox.stop();
}
