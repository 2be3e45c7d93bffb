/**
 * Scaling out on one Redis: two API processes (ROLE=api) and three worker
 * processes (ROLE=worker), all real `node src/main.ts` children, with the
 * sandbox. What one API writes the other reads; mail to ten mailboxes is
 * announced once per message (duplicate deliveries keep one webhook-id) while
 * a worker is SIGKILLed in the middle; each message sent through either API
 * reaches the SMTP server once; and the polls spread over the workers.
 *
 * The sends are split around the kill, each half finished before the next
 * step: a message in flight at a SIGKILL may be submitted twice by design
 * (see domain/sending/delivery.ts), which sending-kill.test.ts covers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { TEST_API_KEY, testEnv } from '../support/app.js';
import { rawMail, waitUntil } from '../support/mail.js';
import { spawnService, type ServiceProcess } from '../support/service-process.js';

const MAILBOXES = 10;
const SENDS = 10;

let sandbox: Sandbox;
let env: Record<string, string>;
const apis: { url: string; process: ServiceProcess }[] = [];
const workers: ServiceProcess[] = [];
/** Workers given a PORT serve /health and /metrics there. */
const workerUrls: string[] = [];

/** The fields of the answers this test reads. */
interface Answer {
  id: string;
  secret: string;
  name: string;
  status: string;
  lastPollAt: string | null;
  items: { id: string }[];
}

async function call(api: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  const res = await fetch(`${apis[api]!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as Answer };
}

async function startApi(): Promise<void> {
  const port = await freePort();
  const process = spawnService({ ...env, ROLE: 'api', HOST: '127.0.0.1', PORT: String(port) });
  apis.push({ url: `http://127.0.0.1:${port}`, process });
  await process.waitForLog('listening', 60_000);
}

async function startWorker(): Promise<void> {
  const port = await freePort();
  const process = spawnService({ ...env, ROLE: 'worker', LOG_LEVEL: 'debug', HOST: '127.0.0.1', PORT: String(port) });
  workers.push(process);
  workerUrls.push(`http://127.0.0.1:${port}`);
  await process.waitForLog('workers started', 60_000);
}

beforeAll(async () => {
  sandbox = await startSandbox();
  env = testEnv(sandbox.redis.url, {
    ...sandbox.serviceEnv(),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    POLL_IDLE: 'false',
    WEBHOOK_RETRY_BASE_MS: '50',
    SEND_RETRY_BASE_MS: '100',
  });
  await Promise.all([startApi(), startApi(), startWorker(), startWorker(), startWorker()]);
}, 120_000);

afterAll(async () => {
  for (const p of [...apis.map((a) => a.process), ...workers]) p.child.kill('SIGKILL');
  await sandbox?.stop();
});

const subjectOf = (d: { body: unknown }): string | undefined => (d.body as { data?: { subject?: string } }).data?.subject;

describe('two API and three worker processes on one Redis', () => {
  it('share the records, announce every mail once, send every message once, and spread the polls', async () => {
    // Written through API #1 ...
    const hook = await call(0, 'POST', '/v1/webhooks', { url: `${sandbox.receiver.url}/scale`, events: ['message.received'] });
    expect(hook.status).toBe(201);
    sandbox.receiver.setSecrets([hook.json.secret]);
    const conn = await call(0, 'POST', '/v1/connections', {
      name: 'scale', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    expect(conn.status).toBe(201);
    const users = Array.from({ length: MAILBOXES }, (_, i) => `scale-${i}@contoso.example`);
    const ids: string[] = [];
    for (const email of users) {
      const res = await call(0, 'POST', '/v1/mailboxes', { connectionId: conn.json.id, email, pollIntervalSeconds: 1, ...sandbox.mailServers() });
      expect(res.status).toBe(201);
      ids.push(res.json.id);
    }
    // ... read through API #2.
    expect((await call(1, 'GET', `/v1/connections/${conn.json.id}`)).json).toMatchObject({ id: conn.json.id, name: 'scale' });
    const listed = await call(1, 'GET', '/v1/mailboxes');
    expect(listed.json.items.map((m) => m.id)).toEqual(expect.arrayContaining(ids));
    for (const id of ids) {
      await waitUntil(`the baseline of ${id}`, async () => ((await call(1, 'GET', `/v1/mailboxes/${id}`)).json.lastPollAt ? true : undefined), 30_000);
    }

    const sender = ids[0]!;
    const sendHalf = async (from: number, to: number): Promise<string[]> => {
      const sendIds: string[] = [];
      for (let i = from; i < to; i++) {
        const res = await call(i % 2, 'POST', '/v1/send', { mailboxId: sender, to: ['customer@example.org'], subject: `scale send ${i}`, text: `message ${i}` });
        expect(res.status).toBe(202);
        sendIds.push(res.json.id);
      }
      for (const id of sendIds) {
        await waitUntil(`send ${id} sent`, async () => ((await call(1, 'GET', `/v1/send/${id}`)).json.status === 'sent' ? true : undefined), 30_000);
      }
      return sendIds;
    };

    // Mail arrives in rounds; the first worker is SIGKILLed after the first round, the sends split around it.
    const subjects: string[] = [];
    await sendHalf(0, SENDS / 2);
    for (let round = 0; round < 3; round++) {
      for (const email of users) {
        const subject = `scale round ${round} for ${email}`;
        subjects.push(subject);
        await sandbox.dovecot.deliver(email, rawMail(email, subject));
      }
      if (round === 0) workers[0]!.child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
    }
    await sendHalf(SENDS / 2, SENDS);

    // A poll the killed worker held waits for BullMQ's stalled-job check (30 s) or the poll lock's expiry (45 s).
    const announced = () => sandbox.receiver.received.filter((d) => d.type === 'message.received' && subjects.includes(subjectOf(d) ?? ''));
    await waitUntil('every message announced', () => (new Set(announced().map(subjectOf)).size === subjects.length ? true : undefined), 90_000);
    const deliveries = announced();
    expect(new Set(deliveries.map((d) => d.id)).size, 'one webhook-id per message').toBe(subjects.length);
    for (const d of deliveries) expect(d.verified).toBe(true);

    for (let i = 0; i < SENDS; i++) {
      expect(sandbox.smtp.messages.filter((m) => m.parsed.subject === `scale send ${i}`), `scale send ${i}`).toHaveLength(1);
    }

    // Each surviving worker polled some of the mailboxes, is ready, and counts its polls on its own /metrics.
    for (const [i, survivor] of workers.entries()) {
      if (i === 0) continue;
      const polled = new Set(survivor.logs().filter((l) => l.msg === 'poll finished').map((l) => l.mailboxId as string));
      expect(polled.size, 'mailboxes one surviving worker polled').toBeGreaterThan(0);
      expect(survivor.child.exitCode).toBeNull();
      expect((await fetch(`${workerUrls[i]}/health/ready`)).status).toBe(200);
      const metrics = await (await fetch(`${workerUrls[i]}/metrics`)).text();
      expect(metrics).toMatch(/^mailsync_polls_total\{result="(ok|unchanged)"\} [1-9]/m);
      expect((await fetch(`${workerUrls[i]}/v1/mailboxes`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })).status, 'no API on a worker').toBe(404);
    }
  }, 240_000);
});
