/**
 * Exchange's cap of 3 SMTP connections per mailbox holds across workers
 * (issue 17): four worker processes, each allowed one connection per mailbox,
 * send a batch from one mailbox. They share the mailbox's three connection
 * slots in Redis, so the sandbox SMTP server (which, like Exchange, answers a
 * 4th authenticated connection with 432 4.3.2) never refuses one, never sees
 * more than three at once, and every message arrives once, at its first
 * attempt.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { useSandbox } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';
import { useSendingProcesses } from '../support/sending-processes.js';

const WORKERS = 4;
const MESSAGES = 48;

const sandbox = useSandbox();
const processes = useSendingProcesses(sandbox, { SEND_CONCURRENCY: '4', SEND_POOL_CONNECTIONS: '1' });
const { t } = processes;

it('four workers sending from one mailbox never open a 4th connection', async () => {
  const mailboxId = await processes.mailbox('capped@contoso.example');

  // Every worker is up and idle before the batch arrives: each wants a connection at once.
  await Promise.all(Array.from({ length: WORKERS }, () => processes.start()));

  // Attachments make each DATA take a moment, so that connections overlap.
  const attachment = randomBytes(128 * 1024).toString('base64');
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/send', headers: t.auth,
      payload: { mailboxId, to: [`r${i}@example.org`], subject: `capped ${i}`, text: 'x', attachments: [{ filename: 'a.bin', content: attachment }] },
    });
    expect(res.statusCode, res.body).toBe(202);
    ids.push(res.json().id);
  }
  const done = await waitUntil('every message sent', async () => {
    const views = await Promise.all(ids.map((id) => t.deps.sending.service.view(id)));
    return views.every((v) => v.status === 'sent') ? views : undefined;
  }, 60_000);

  const refused = sandbox.smtp.authAttempts.filter((a) => !a.ok);
  expect(refused, JSON.stringify(refused)).toEqual([]);
  expect(sandbox.smtp.peakConnections.get('capped@contoso.example')).toBeLessThanOrEqual(3);
  expect(sandbox.smtp.peakConnections.get('capped@contoso.example')).toBeGreaterThanOrEqual(2);
  const received = sandbox.smtp.messages.map((m) => m.parsed.messageId);
  expect(received.sort()).toEqual(done.map((v) => v.messageId).sort());
  expect(done.every((v) => v.attempts === 1)).toBe(true);
}, 120_000);
