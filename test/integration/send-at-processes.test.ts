/**
 * Scheduled messages and cancels against real worker processes (`node
 * --import tsx src/main.ts`, ROLE=worker) and the sandbox; the API is this
 * process's app, on the same Redis and prefix.
 *
 * - A worker SIGKILLed before the messages it would have sent are due: they
 *   stay scheduled, and another worker sends each exactly once, not before
 *   its time.
 * - Cancels racing two workers: every message ends exactly one way, 200
 *   `canceled` and never delivered, or 409 and delivered exactly once.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { useSandbox } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';
import { SEND_QUEUE } from '../../src/jobs/sending/send-jobs.js';
import { useSendingProcesses } from '../support/sending-processes.js';

const sandbox = useSandbox();
const processes = useSendingProcesses(sandbox, {
  SEND_CONCURRENCY: '4',
  SEND_POOL_CONNECTIONS: '1',
  SEND_THROTTLE_DELAY_MS: '200',
  SEND_STALL_TIMEOUT_MS: '1500',
  SEND_RETRY_BASE_MS: '100',
  SEND_SCHEDULE_INTERVAL_MS: '200',
});
const { t } = processes;
const worker = processes.start;

let mailboxId: string;
beforeAll(async () => {
  mailboxId = await processes.mailbox('later@contoso.example');
});

async function accept(payload: Record<string, unknown>): Promise<{ id: string; status: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId, text: 'x', ...payload } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

const view = (id: string) => t.deps.sending.service.view(id);
const received = (messageId: string) => sandbox.smtp.messages.filter((m) => m.parsed.messageId === messageId);

it('a worker killed before its scheduled messages are due: another sends each exactly once, at or after its time', async () => {
  const first = await worker();
  const due = Date.now() + 2_500;
  const sends = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    accept({ to: [`s${i}@example.org`], subject: `scheduled ${i}`, sendAt: new Date(due + i * 50).toISOString() })));
  expect(sends.every((s) => s.status === 'scheduled')).toBe(true);
  first.child.kill('SIGKILL');
  await first.exited;
  // Killed before their time: nothing of them went out, nothing moved.
  expect(Date.now()).toBeLessThan(due);
  for (const s of sends) expect((await view(s.id)).status).toBe('scheduled');

  const second = await worker();
  const done = await waitUntil('every scheduled message sent', async () => {
    const views = await Promise.all(sends.map((s) => view(s.id)));
    return views.every((v) => v.status === 'sent') ? views : undefined;
  }, 30_000);
  for (const v of done) {
    const copies = received(v.messageId);
    expect(copies, v.id).toHaveLength(1);
    expect(copies[0]!.receivedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(v.sendAt!));
    expect(v.attempts).toBe(1);
  }
  expect(await t.deps.redis.zcard(t.deps.keys.send.scheduled())).toBe(0);
  second.child.kill('SIGTERM');
  await second.exited;
}, 90_000);

it('cancels racing two workers: each message is either canceled (200) and never delivered, or 409 and delivered exactly once', async () => {
  const workers = [await worker(), await worker()];
  // Attachments make each submission take a moment, so cancels land before, during and after.
  const attachment = randomBytes(48 * 1024).toString('base64');
  const MESSAGES = 60;
  const soon = Date.now() + 600;
  const sends = await Promise.all(Array.from({ length: MESSAGES }, (_, i) => accept({
    to: [`race${i}@example.org`], subject: `race ${i}`,
    attachments: [{ filename: 'a.bin', content: attachment }],
    // A third are scheduled a moment ahead: their cancels race the workers moving them to the queue too.
    ...(i % 3 === 0 ? { sendAt: new Date(soon + i * 10).toISOString() } : {}),
  })));
  const started = Date.now();
  // Each cancel at its own moment over the next 2.4 s, in an order unrelated to the queue's.
  const order = Array.from({ length: MESSAGES }, (_, i) => (i * 37) % MESSAGES);
  const answers = await Promise.all(order.map(async (index, k) => {
    await new Promise((r) => setTimeout(r, Math.max(0, started + k * 40 - Date.now())));
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/send/${sends[index]!.id}`, headers: t.auth });
    return { id: sends[index]!.id, status: res.statusCode, body: res.json() as { status?: string; code?: string; sendStatus?: string } };
  }));

  // Every message finished one way or the other, and no job is left to run: a canceled
  // message's job, if it had one, ran and was refused.
  const finals = await waitUntil('every message canceled or sent, and the queue empty', async () => {
    const views = await Promise.all(sends.map((s) => view(s.id)));
    if (!views.every((v) => v.status === 'canceled' || v.status === 'sent')) return undefined;
    const counts = await t.deps.queues.queue(SEND_QUEUE).getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(counts).every((n) => n === 0) ? views : undefined;
  }, 60_000);
  const byId = new Map(finals.map((v) => [v.id, v]));
  let canceled = 0;
  let tooLate = 0;
  let midSend = 0;
  for (const answer of answers) {
    const final = byId.get(answer.id)!;
    const copies = received(final.messageId).length;
    if (answer.status === 200) {
      canceled += 1;
      expect(answer.body.status).toBe('canceled');
      expect(final.status, answer.id).toBe('canceled');
      expect(copies, `${answer.id} canceled but delivered`).toBe(0);
    } else {
      tooLate += 1;
      if (answer.body.sendStatus === 'sending') midSend += 1;
      expect(answer.status, JSON.stringify(answer.body)).toBe(409);
      expect(answer.body.code).toBe('send_not_cancelable');
      expect(final.status, answer.id).toBe('sent');
      expect(copies, `${answer.id} sent ${copies} times`).toBe(1);
    }
  }
  console.log(`cancel race: ${canceled} canceled, ${tooLate} too late (sent; ${midSend} of them caught while sending)`);
  // Both outcomes happened: the cancels did race the workers.
  expect(canceled).toBeGreaterThan(0);
  expect(tooLate).toBeGreaterThan(0);
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
}, 120_000);
