/**
 * Polling with several worker processes on one Redis: no mailbox is polled by
 * two at once, and a worker killed with SIGKILL in the middle of its polls
 * loses nothing and announces nothing twice but under the same webhook-id.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';
import { spawnService, type ServiceProcess } from '../support/service-process.js';

const MAILBOXES = 12;
const workers: ServiceProcess[] = [];

function workerEnv(): Record<string, string> {
  return {
    ...sandbox.serviceEnv(),
    ROLE: 'worker',
    REDIS_PREFIX: t.config.redis.prefix,
    ENCRYPTION_KEY: t.config.encryption.key.toString('base64'),
    LOG_LEVEL: 'debug',
    POLL_IDLE: 'false',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_TIMEOUT_MS: '2000',
    WEBHOOK_ADMISSION_LEASE_MS: '10000',
  };
}

async function startWorker(): Promise<ServiceProcess> {
  const worker = spawnService(workerEnv());
  workers.push(worker);
  await worker.waitForLog('workers started');
  return worker;
}

const sandbox = useSandbox();
const t = useTestApp(() => sandbox.serviceEnv(), () => sandbox.redis);
afterAll(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
});

let connectionId: string | undefined;
/** The webhook (message.received, to the sandbox receiver) and the connection, made once for every test. */
async function connection(): Promise<string> {
  if (connectionId) return connectionId;
  const hook = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: t.auth, payload: { url: `${sandbox.receiver.url}/h`, events: ['message.received'] } });
  sandbox.receiver.setSecrets([hook.json().secret]);
  const conn = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  connectionId = conn.json().id as string;
  return connectionId;
}

async function polledMailbox(email: string): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: { connectionId: await connection(), email, pollIntervalSeconds: 1, ...sandbox.mailServers() } });
  return res.json().id as string;
}

describe('several worker processes', () => {
  it('share the mailboxes, never poll one at once, and lose nothing when one is killed', async () => {
    const users = Array.from({ length: MAILBOXES }, (_, i) => `multi-${i}@contoso.example`);
    const ids: string[] = [];
    for (const email of users) ids.push(await polledMailbox(email));
    const first = await startWorker();
    const second = await startWorker();
    for (const id of ids) {
      await waitUntil(`the baseline of ${id}`, async () => ((await t.deps.services.mailboxes.get(id)).lastPollAt ? true : undefined), 20_000);
    }

    // Mail arrives steadily; the first worker is killed in the middle of it and a third takes over.
    const subjects: string[] = [];
    for (let round = 0; round < 6; round++) {
      for (const email of users) {
        const subject = `round ${round} for ${email}`;
        subjects.push(subject);
        await sandbox.dovecot.deliver(email, rawMail(email, subject));
      }
      if (round === 2) {
        first.child.kill('SIGKILL');
        await startWorker();
      }
      await new Promise((r) => setTimeout(r, 400));
    }

    const announced = () => new Map(sandbox.receiver.received.filter((d) => d.type === 'message.received').map((d) => [(d.body as { data: { subject: string } }).data.subject, d.id]));
    try {
      // A poll cut short by the kill is taken over once its lock lapses (45 s at worst).
      await waitUntil('every message announced', () => (subjects.every((s) => announced().has(s)) ? true : undefined), 75_000);
    } catch (err) {
      // What CI shows when this fails: the messages missing and where each mailbox stands.
      console.error('missing', subjects.filter((s) => !announced().has(s)));
      for (const id of ids) {
        const m = await t.deps.services.mailboxes.get(id);
        console.error(m.email, m.state, m.lastPollAt, JSON.stringify(m.folderState), JSON.stringify(m.lastError));
      }
      throw err;
    }
    // Duplicates carry the same webhook-id: as many distinct ids as messages.
    const deliveries = sandbox.receiver.received.filter((d) => d.type === 'message.received' && subjects.includes((d.body as { data: { subject: string } }).data.subject));
    expect(new Set(deliveries.map((d) => d.id)).size).toBe(subjects.length);
    for (const d of deliveries) expect(d.verified).toBe(true);

    // No two polls of one mailbox overlapped in time, across all processes.
    const polls = workers.flatMap((w, worker) => w.logs()
      .filter((l) => l.msg === 'poll finished')
      .map((l) => ({ worker, mailboxId: l.mailboxId as string, start: l.startedAt as number, end: (l.startedAt as number) + (l.durationMs as number) })));
    expect(polls.length).toBeGreaterThan(MAILBOXES * 3);
    expect(new Set(polls.map((p) => p.worker)).size).toBeGreaterThanOrEqual(2);
    for (const id of ids) {
      const mine = polls.filter((p) => p.mailboxId === id).sort((a, b) => a.start - b.start);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.start, `overlapping polls of ${id}`).toBeGreaterThanOrEqual(mine[i - 1]!.end);
    }
    expect(second.child.exitCode).toBeNull();
    for (const w of workers) w.child.kill('SIGKILL');
  }, 120_000);

  it('a worker killed in the middle of a backlog: every message announced, a repeat only under the same webhook-id', async () => {
    const email = 'backlog-kill@contoso.example';
    const id = await polledMailbox(email);
    const first = await startWorker();
    await waitUntil('the baseline', async () => ((await t.deps.services.mailboxes.get(id)).lastPollAt ? true : undefined), 20_000);
    const n = 2_000;
    const staged = await sandbox.dovecot.stageMany(email, Array.from({ length: n }, (_, i) => rawMail(email, `backlog ${i}`)));
    await staged.land();
    const ofMailbox = () => sandbox.receiver.received.filter((d) => d.type === 'message.received' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id);
    // Killed while it announces: batches published, others not yet, deliveries in flight.
    await waitUntil('a third of the backlog announced', () => (ofMailbox().length >= n / 3 ? true : undefined), 60_000);
    first.child.kill('SIGKILL');
    expect(ofMailbox().length).toBeLessThan(n);
    await startWorker();
    const uids = () => new Set(ofMailbox().map((d) => (d.body as { data: { uid: number } }).data.uid));
    // Deliveries the killed worker had claimed come back when their attempt lease runs out (the
    // request timeout + 60 s); those it had admitted to run next, when their admission lease does
    // (WEBHOOK_ADMISSION_LEASE_MS, 10 s here, 5 minutes by default).
    await waitUntil('every message announced', () => (uids().size >= n ? true : undefined), 150_000);
    const idsOf = new Map<number, Set<string | null>>();
    for (const d of ofMailbox()) {
      const uid = (d.body as { data: { uid: number } }).data.uid;
      idsOf.set(uid, (idsOf.get(uid) ?? new Set()).add(d.id));
    }
    // A message sent twice (an attempt the kill cut short, retried) came under one webhook-id.
    for (const [uid, webhookIds] of idsOf) expect(webhookIds.size, `webhook-ids of uid ${uid}`).toBe(1);
    expect(new Set(ofMailbox().map((d) => d.id)).size).toBe(n);
  }, 240_000);
});
