/**
 * A worker killed while sending loses no message. The service runs as a
 * real worker process (`node --import tsx src/main.ts`, ROLE=worker) against
 * the sandbox; SIGKILL hits it mid-batch; a second worker process takes over
 * through BullMQ's stalled-job recovery. Every message arrives, and the only
 * duplicates allowed are messages that were in flight at the kill (the
 * server may have taken one before its outcome was recorded): each of those
 * carries the same Message-ID, and the second worker logged the doubt.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { useSandbox } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';
import { SEND_QUEUE } from '../../src/jobs/sending/send-jobs.js';
import { useSendingProcesses } from '../support/sending-processes.js';

const MESSAGES = 60;

const sandbox = useSandbox();
const processes = useSendingProcesses(sandbox, {
  SEND_CONCURRENCY: '8',
  // Exchange's cap (and the sandbox's) is 3 connections per mailbox; a killed worker's slots are
  // free again once their lease lapses (1.5 s with these sweeps).
  SEND_POOL_CONNECTIONS: '3',
  SEND_THROTTLE_DELAY_MS: '200',
  SEND_STALL_TIMEOUT_MS: '1500',
  SEND_RETRY_BASE_MS: '100',
});
const { t } = processes;
const worker = processes.spawn;

let mailboxId: string;

it('SIGKILL mid-batch: another worker sends every message; duplicates only among those in flight at the kill', async () => {
  mailboxId = await processes.mailbox('bulk@contoso.example');
  // Attachments make each DATA take a moment, so that messages are in flight when the kill comes.
  const attachment = randomBytes(256 * 1024).toString('base64');
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/send', headers: t.auth,
      payload: { mailboxId, to: [`r${i}@example.org`], subject: `bulk ${i}`, text: 'x', attachments: [{ filename: 'a.bin', content: attachment }] },
    });
    expect(res.statusCode, res.body).toBe(202);
    ids.push(res.json().id);
  }

  const first = worker();
  await sandbox.smtp.waitForMessages(12, 30_000);
  first.child.kill('SIGKILL');
  await first.exited;
  const atKill = await Promise.all(ids.map((id) => t.deps.sending.service.view(id)));
  const inFlight = atKill.filter((v) => v.status === 'sending').map((v) => v.id);
  expect(inFlight.length).toBeGreaterThan(0);
  expect(atKill.filter((v) => v.status === 'sent').length).toBeLessThan(MESSAGES);

  const second = worker();
  const done = await waitUntil('every message sent', async () => {
    const views = await Promise.all(ids.map((id) => t.deps.sending.service.view(id)));
    return views.every((v) => v.status === 'sent') ? views : undefined;
  }, 45_000);

  const received = sandbox.smtp.messages.map((m) => m.parsed.messageId);
  const expected = new Set(done.map((v) => v.messageId));
  expect(new Set(received)).toEqual(expected);
  const duplicated = done.filter((v) => received.filter((id) => id === v.messageId).length > 1);
  expect(received.length - expected.size).toBe(duplicated.length);
  for (const v of duplicated) {
    expect(inFlight).toContain(v.id);
    expect(second.stdout()).toContain(v.id);
  }
  // The messages in flight at the kill were attempted again by the second worker.
  for (const v of done.filter((d) => inFlight.includes(d.id))) expect(v.attempts).toBeGreaterThanOrEqual(2);
  console.log(`killed with ${inFlight.length} in flight: ${duplicated.length} duplicate(s), all ${MESSAGES} delivered`);
  second.child.kill('SIGTERM');
  await second.exited;
}, 90_000);

it('a message taken from the outbox by a relay that died before queueing its job is queued by the sweeper', async () => {
  const res = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId, to: ['lost@example.org'], subject: 'lost job', text: 'x' } });
  expect(res.statusCode).toBe(202);
  const id = res.json().id as string;
  // What a relay killed between BLPOP and queue.add leaves behind: no outbox entry, no job.
  expect(await t.deps.redis.lrem(t.deps.keys.send.outbox(), 0, id)).toBe(1);
  expect(await t.deps.queues.queue(SEND_QUEUE).getJob(id)).toBeUndefined();
  const service = worker();
  const sent = await waitUntil('the message sent', async () => {
    const v = await t.deps.sending.service.view(id);
    return v.status === 'sent' ? v : undefined;
  }, 20_000);
  expect(sandbox.smtp.messages.filter((m) => m.parsed.messageId === sent.messageId)).toHaveLength(1);
  expect(service.stdout()).toContain('unfinished messages without a job queued again');
  service.child.kill('SIGTERM');
  await service.exited;
}, 40_000);
