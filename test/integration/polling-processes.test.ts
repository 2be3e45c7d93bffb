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

describe('several worker processes', () => {
  it('share the mailboxes, never poll one at once, and lose nothing when one is killed', async () => {
    const hook = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: t.auth, payload: { url: `${sandbox.receiver.url}/h`, events: ['message.received'] } });
    sandbox.receiver.setSecrets([hook.json().secret]);
    const conn = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    const users = Array.from({ length: MAILBOXES }, (_, i) => `multi-${i}@contoso.example`);
    const ids: string[] = [];
    for (const email of users) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: { connectionId: conn.json().id, email, pollIntervalSeconds: 1, ...sandbox.mailServers() } });
      ids.push(res.json().id);
    }
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
  }, 120_000);
});
