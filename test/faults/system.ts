/**
 * The system the fault suite runs: the sandbox (Redis on AOF in the run's
 * directory, so it can restart), the cutting IMAP and SMTP proxies, the four
 * service processes with the suite's settings, and, through the API, the
 * subscription, the connection and the mailboxes.
 */
import { mkdtemp } from 'node:fs/promises';
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
import { serviceSlot, type ServiceSlot } from './cluster.js';
import { createRng, type Rng } from './rng.js';
import type { FaultMailbox } from './traffic.js';

export const MAILBOXES = 50;
const POLL_INTERVAL_SECONDS = 2;

/**
 * Access tokens of the identity imitation live 310 s: the service (as MSAL)
 * renews 300 s before expiry, so a token serves 10 s and every identity
 * fault (15 s) meets renewals. With the default 3599 s the hour-long cache
 * would hide the faults; at 300 s or less MSAL would not cache at all.
 */
const TOKEN_LIFETIME_SECONDS = 310;

/**
 * The service's settings for the suite: production delays shrunk so that
 * minutes of faults fit in a CI job. Next to each, the production default.
 */
export const SEND_CONCURRENCY = 16;
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

export interface Run {
  seed: number;
  /** Two streams, so that the fault plan does not depend on how much traffic ran before it. */
  planRng: Rng;
  trafficRng: Rng;
  /** The run's directory: service logs in logs/, Redis data in redis/. */
  dir: string;
  sandbox: Sandbox;
  imapProxy: ImapProxy;
  smtpProxy: SmtpProxy;
  slots: ServiceSlot[];
  apis: () => string[];
  /** The environment every service process gets. */
  env: Record<string, string>;
}

/** Starts the sandbox and the proxies, and makes (without starting) the service slots. */
export async function startSystem(seed: number): Promise<Run> {
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
  return {
    seed,
    planRng: createRng(seed),
    trafficRng: createRng(seed ^ 0x5bd1e995),
    dir,
    sandbox,
    imapProxy,
    smtpProxy,
    slots,
    apis: () => apiSlots.map((s) => s.url),
    env,
  };
}

async function must<T>(what: string, answer: Promise<{ status: number; json: T }>, status: number): Promise<T> {
  const res = await answer;
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

/** The subscription, the connection and the mailboxes, through the API; waits for every mailbox's baseline. */
export async function provision(run: Run): Promise<{ subscriptionId: string; connectionId: string; mailboxes: FaultMailbox[] }> {
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
