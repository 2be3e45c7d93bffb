/**
 * Sending end to end against the sandbox: POST /v1/send → the BullMQ worker →
 * the SMTP imitation of Exchange (STARTTLS, AUTH XOAUTH2 with a token from the
 * identity imitation) → the events through the real webhook pipeline.
 * Exchange's failures on demand: 535 once (a fresh token fixes it), 535 5.7.139
 * (SMTP AUTH disabled), 421 (retried), refused recipients; the per-mailbox
 * rate window (30 per 5 s here) holding the 31st message back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import type { RecordedMessage } from '../../sandbox/smtp.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';
import { dumpRedis } from '../support/redis-dump.js';
import { SEND_QUEUE } from '../../src/jobs/sending/send-jobs.js';

let connectionId: string;
let serial = 0;

type View = {
  id: string; mailboxId: string; status: string; attempts: number; messageId: string; smtpResponse: string | null;
  error: { code: string; detail: string; hint?: string } | null;
  rejectedRecipients: { address: string; responseCode: number | null; response: string }[];
  contentReleasedAt: string | null;
  createdAt: string; updatedAt: string;
};

const RATE_WINDOW_MS = 5_000;

const sandbox = useSandbox();
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(),
  // Trace: nodemailer's own lines are logged too (and checked for tokens).
  LOG_LEVEL: 'trace',
  SEND_RATE_PER_MINUTE: '30',
  SEND_RATE_WINDOW_MS: String(RATE_WINDOW_MS),
  SEND_RETRY_BASE_MS: '100',
  SEND_THROTTLE_DELAY_MS: '300',
  WEBHOOK_RETRY_BASE_MS: '50',
}), () => sandbox.redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.sent', 'message.failed'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'sending', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().id;
});

/** A mailbox of its own per test: rate windows and SMTP pools are per mailbox. */
async function mailbox(): Promise<{ id: string; email: string }> {
  const email = `sender-${++serial}@contoso.example`;
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds: 86_400, ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id, email };
}

async function send(payload: Record<string, unknown>, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: '/v1/send', headers: { ...t.auth, ...headers }, payload });
}

async function accepted(payload: Record<string, unknown>): Promise<string> {
  const res = await send(payload);
  expect(res.statusCode, res.body).toBe(202);
  expect(res.json()).toEqual({ id: expect.stringMatching(/^snd_/), status: 'queued' });
  return res.json().id;
}

async function view(id: string): Promise<View> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/send/${id}`, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as View;
}

async function final(id: string, timeoutMs = 15_000): Promise<View> {
  return waitUntil(`send ${id} to finish`, async () => {
    const v = await view(id);
    return v.status === 'sent' || v.status === 'failed' ? v : undefined;
  }, timeoutMs);
}

const arrived = (messageId: string): RecordedMessage[] => sandbox.smtp.messages.filter((m) => m.parsed.messageId === messageId);
const event = (type: string, sendId: string) =>
  sandbox.receiver.waitFor((d) => d.type === type && (d.body as { data: { sendId: string } }).data.sendId === sendId);

describe('POST /v1/send', () => {
  it('delivers headers, bodies and attachments over XOAUTH2 with a token Exchange accepts, and announces message.sent', async () => {
    const from = await mailbox();
    const pdf = Buffer.from('%PDF-1.4 a tiny pdf\n%%EOF\n');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 3, 255]);
    const id = await accepted({
      mailboxId: from.id,
      to: ['customer@example.org'], cc: ['cc@example.org'], bcc: ['hidden@example.org'], replyTo: 'replies@contoso.example',
      subject: 'Your ticket #42 — résumé',
      text: 'Hello,\r\nplain text body.\r\n', html: '<p>Hello, <b>HTML</b> body.</p>',
      attachments: [
        { filename: 'report.pdf', contentType: 'application/pdf', content: pdf.toString('base64') },
        { filename: 'pixel.png', content: png.toString('base64') },
      ],
      headers: { 'X-Ticket': '42', 'X-Custom-Trace': 'abc-123 def' },
      inReplyTo: '<original@example.org>', references: ['<root@example.org>', '<original@example.org>'],
    });
    const queued = await view(id);
    expect(queued).toMatchObject({ id, mailboxId: from.id, rejectedRecipients: [], error: null });
    expect(queued.contentReleasedAt).toBeNull();
    // The Message-ID names the send (a bounce quoting it is matched to it).
    expect(queued.messageId).toBe(`<${id}.${/^<snd_[A-Za-z0-9_-]{16}\.([0-9a-f-]{36})@contoso\.example>$/.exec(queued.messageId)?.[1]}@contoso.example>`);

    const done = await final(id);
    expect(done).toMatchObject({ status: 'sent', attempts: 1, error: null, rejectedRecipients: [] });
    expect(done.smtpResponse).toMatch(/^250 2\.0\.0 OK/);
    // Sent: the stored content is gone at once (SEND_RETENTION_SECONDS 0), the record stays and says when.
    expect(Date.parse(done.contentReleasedAt!)).toBeLessThanOrEqual(Date.parse(done.updatedAt));
    expect(await t.deps.redis.exists(t.deps.keys.send.content(id))).toBe(0);
    const [message, ...more] = arrived(done.messageId);
    expect(more).toHaveLength(0);
    const m = message!;
    expect(m.authUser).toBe(from.email);
    expect(m.tokenClaims.roles).toContain('SMTP.SendAsApp');
    expect(m.tokenClaims.appid ?? m.tokenClaims.azp).toBe(SANDBOX_APP_ONLY.clientId);
    expect(m.envelope.from).toBe(from.email);
    expect(m.envelope.to.sort()).toEqual(['cc@example.org', 'customer@example.org', 'hidden@example.org']);
    expect(m.parsed.from?.text).toBe(from.email);
    expect(m.parsed.subject).toBe('Your ticket #42 — résumé');
    expect(m.parsed.text).toBe('Hello,\nplain text body.\n');
    expect(m.parsed.html).toContain('<b>HTML</b>');
    expect(m.parsed.headers.get('x-ticket')).toBe('42');
    expect(m.parsed.headers.get('x-custom-trace')).toBe('abc-123 def');
    expect(m.parsed.headers.get('reply-to')).toMatchObject({ text: 'replies@contoso.example' });
    expect(m.parsed.inReplyTo).toBe('<original@example.org>');
    expect(m.parsed.references).toEqual(['<root@example.org>', '<original@example.org>']);
    expect(m.raw.toString('latin1')).not.toMatch(/^bcc:/im);
    expect(m.parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([['report.pdf', 'application/pdf'], ['pixel.png', 'image/png']]);
    expect(m.parsed.attachments[0]!.content.equals(pdf)).toBe(true);
    expect(m.parsed.attachments[1]!.content.equals(png)).toBe(true);

    const delivery = await event('message.sent', id);
    expect(delivery.verified).toBe(true);
    expect((delivery.body as { data: unknown }).data).toEqual({ sendId: id, mailboxId: from.id, messageId: done.messageId, smtpResponse: done.smtpResponse });
  });

  it('keeps a mailbox SMTP connection open between messages: one AUTH for several messages', async () => {
    const from = await mailbox();
    for (let i = 0; i < 3; i++) {
      const done = await final(await accepted({ mailboxId: from.id, to: ['a@example.org'], subject: `pooled ${i}`, text: 'x' }));
      expect(done.status).toBe('sent');
    }
    expect(sandbox.smtp.authAttempts.filter((a) => a.user === from.email)).toHaveLength(1);
  });

  it('sends to the recipients the server accepts and lists the refused ones', async () => {
    const from = await mailbox();
    sandbox.smtp.setBehaviour({ rejectRecipients: { 'ghost@example.org': 550 } });
    try {
      const id = await accepted({ mailboxId: from.id, to: ['ok@example.org', 'ghost@example.org'], subject: 'partial', text: 'x' });
      const done = await final(id);
      expect(done.status).toBe('sent');
      expect(done.rejectedRecipients).toEqual([
        { address: 'ghost@example.org', responseCode: 550, response: expect.stringContaining('5.1.10 RESOLVER.ADR.RecipientNotFound') },
      ]);
      expect(arrived(done.messageId).map((m) => m.envelope.to)).toEqual([['ok@example.org']]);

      const all = await accepted({ mailboxId: from.id, to: ['ghost@example.org'], subject: 'nobody', text: 'x' });
      const failed = await final(all);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'smtp_recipient_rejected' } });
      expect(failed.rejectedRecipients.map((r) => r.address)).toEqual(['ghost@example.org']);
      expect(arrived(failed.messageId)).toHaveLength(0);
      const announced = await event('message.failed', all);
      expect((announced.body as { data: { error: { code: string } } }).data.error.code).toBe('smtp_recipient_rejected');
    } finally {
      sandbox.smtp.reset();
    }
  });

  it('535 once: gets a fresh token from the identity platform and sends in the same attempt', async () => {
    const from = await mailbox();
    const before = sandbox.identity.tokenRequests({ clientId: SANDBOX_APP_ONLY.clientId });
    sandbox.smtp.setBehaviour({ authFailure: 'auth_unsuccessful', authFailureTimes: 1 });
    try {
      const done = await final(await accepted({ mailboxId: from.id, to: ['a@example.org'], subject: '535 once', text: 'x' }));
      expect(done).toMatchObject({ status: 'sent', attempts: 1, error: null });
      expect(arrived(done.messageId)).toHaveLength(1);
      expect(sandbox.identity.tokenRequests({ clientId: SANDBOX_APP_ONLY.clientId })).toBe(before + 1);
      const attempts = sandbox.smtp.authAttempts.filter((a) => a.user === from.email);
      expect(attempts.map((a) => a.ok)).toEqual([false, true]);
      expect(attempts[0]!.response).toBe('535 5.7.3 Authentication unsuccessful');
    } finally {
      sandbox.smtp.reset();
    }
  });

  it('535 5.7.139: fails at once with smtp_auth_disabled and the SMTP AUTH hint', async () => {
    const from = await mailbox();
    const before = sandbox.identity.tokenRequests({ clientId: SANDBOX_APP_ONLY.clientId });
    sandbox.smtp.setBehaviour({ authFailure: 'smtp_auth_disabled' });
    try {
      const id = await accepted({ mailboxId: from.id, to: ['a@example.org'], subject: 'disabled', text: 'x' });
      const done = await final(id);
      expect(done).toMatchObject({ status: 'failed', attempts: 1, smtpResponse: null, error: { code: 'smtp_auth_disabled' } });
      expect(done.error!.hint).toContain('Turn off SMTP AUTH protocol for your organization');
      expect(done.error!.hint).toContain(`Set-CASMailbox -Identity ${from.email}`);
      expect(done.error!.detail).toContain('5.7.139');
      // A fresh token cannot turn SMTP AUTH on: no second token request.
      expect(sandbox.identity.tokenRequests({ clientId: SANDBOX_APP_ONLY.clientId })).toBe(before);
      const announced = await event('message.failed', id);
      expect((announced.body as { data: unknown }).data).toEqual({ sendId: id, mailboxId: from.id, error: done.error });
    } finally {
      sandbox.smtp.reset();
    }
  });

  it('421: retried with backoff, then sent once', async () => {
    const from = await mailbox();
    sandbox.smtp.setBehaviour({ throttle: { times: 1 } });
    try {
      const id = await accepted({ mailboxId: from.id, to: ['a@example.org'], subject: 'throttled once', text: 'x' });
      const waiting = await waitUntil('the retry wait', async () => {
        const v = await view(id);
        return v.error ? v : undefined;
      });
      expect(waiting).toMatchObject({ status: 'queued', attempts: 1, error: { code: 'smtp_throttled' } });
      const done = await final(id);
      expect(done).toMatchObject({ status: 'sent', attempts: 2, error: null });
      expect(arrived(done.messageId)).toHaveLength(1);
    } finally {
      sandbox.smtp.reset();
    }
  });

  it('holds the 31st message of a window back until a slot frees, and loses none', async () => {
    const from = await mailbox();
    const started = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 31; i++) ids.push(await accepted({ mailboxId: from.id, to: [`r${i}@example.org`], subject: `rate ${i}`, text: 'x' }));
    // While the window is full, the 31st waits in the queue.
    await waitUntil('30 messages', () => (sandbox.smtp.messages.filter((m) => m.authUser === from.email).length >= 30 ? true : undefined));
    const held = (await Promise.all(ids.map(view))).filter((v) => v.status === 'queued');
    expect(held).toHaveLength(1);
    expect(held[0]!.attempts).toBe(0);
    // It waits as a delayed BullMQ job that carries its id and nothing else.
    const job = await t.deps.queues.queue(SEND_QUEUE).getJob(held[0]!.id);
    expect(job?.data).toEqual({ sendId: held[0]!.id });
    await waitUntil('the delayed job', async () => ((await job?.getState()) === 'delayed' ? true : undefined), 2_000);
    const views = await Promise.all(ids.map((id) => final(id, 20_000)));
    expect(views.every((v) => v.status === 'sent' && v.attempts === 1)).toBe(true);
    const messages = views.map((v) => arrived(v.messageId));
    expect(messages.every((m) => m.length === 1)).toBe(true);
    const times = messages.map((m) => m[0]!.receivedAt.getTime()).sort((a, b) => a - b);
    // 30 go at once; the last waits for the window's first slot to free (taken after `started`).
    expect(times[29]! - started).toBeLessThan(RATE_WINDOW_MS);
    expect(times[30]! - started).toBeGreaterThanOrEqual(RATE_WINDOW_MS);
  });
});

describe('Idempotency-Key', () => {
  it('20 concurrent duplicates: one message stored and sent, every answer the same id', async () => {
    const from = await mailbox();
    const body = { mailboxId: from.id, to: ['once@example.org'], subject: 'exactly once', text: 'x' };
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(body, { 'idempotency-key': 'order-42-confirmation' })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(202));
    const ids = new Set(answers.map((a) => a.json().id as string));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    const done = await final(id!);
    expect(done.status).toBe('sent');
    // Later retries (key order and whitespace do not matter) answer the first response again.
    const again = await t.app.inject({
      method: 'POST', url: '/v1/send', headers: { ...t.auth, 'idempotency-key': 'order-42-confirmation', 'content-type': 'application/json' },
      payload: JSON.stringify({ text: 'x', subject: 'exactly once', to: ['once@example.org'], mailboxId: from.id }, null, 2),
    });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ id, status: 'queued' });
    await new Promise((r) => setTimeout(r, 300));
    expect(arrived(done.messageId)).toHaveLength(1);
    expect(sandbox.smtp.messages.filter((m) => m.parsed.subject === 'exactly once')).toHaveLength(1);
  });

  it('the same key with another body is a 422 idempotency_mismatch; other keys are independent', async () => {
    const from = await mailbox();
    const first = await send({ mailboxId: from.id, to: ['a@example.org'], subject: 'one', text: 'x' }, { 'idempotency-key': 'k-mismatch' });
    expect(first.statusCode).toBe(202);
    const other = await send({ mailboxId: from.id, to: ['a@example.org'], subject: 'two', text: 'x' }, { 'idempotency-key': 'k-mismatch' });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: 'idempotency_mismatch', status: 422 });
    const fresh = await send({ mailboxId: from.id, to: ['a@example.org'], subject: 'two', text: 'x' }, { 'idempotency-key': 'k-other' });
    expect(fresh.statusCode).toBe(202);
    expect(fresh.json().id).not.toBe(first.json().id);
    const ttl = await t.deps.redis.ttl(t.deps.keys.send.idempotency((await import('../../src/domain/sending/idempotency.js')).idempotencyKeyDigest('k-mismatch')));
    expect(ttl).toBeGreaterThan(86_000);
    expect(ttl).toBeLessThanOrEqual(86_400);
    const bad = await send({ mailboxId: from.id, to: ['a@example.org'], text: 'x' }, { 'idempotency-key': 'has space' });
    expect(bad.statusCode).toBe(400);
  });
});

describe('retention', () => {
  it('keeps the status record and deletes the content once delivered', async () => {
    const from = await mailbox();
    const done = await final(await accepted({ mailboxId: from.id, to: ['a@example.org'], subject: 'retention', text: 'x' }));
    const { send: keys } = t.deps.keys;
    // SEND_RETENTION_SECONDS 0 (the default): no content kept (its TTL with a retention: send-store.test.ts).
    expect(await t.deps.redis.exists(keys.content(done.id))).toBe(0);
    expect(done.contentReleasedAt).not.toBeNull();
    const recordTtl = await t.deps.redis.ttl(keys.record(done.id));
    expect(recordTtl).toBeGreaterThan(30 * 86_400 - 60);
    expect(await t.deps.redis.zscore(keys.pending(), done.id)).toBeNull();
  });
});

describe('secrets and content', () => {
  it('neither the message nor the token is in Redis in clear, in a log line (trace level) or in a job', async () => {
    const from = await mailbox();
    const marker = `m${Date.now().toString(36)}x${Math.random().toString(36).slice(2)}`;
    const attachment = Buffer.from(`attachment ${marker} bytes`);
    const done = await final(await accepted({
      mailboxId: from.id, to: ['to@example.org'], subject: `subject ${marker}`, text: `text ${marker}`, html: `<p>${marker}</p>`,
      headers: { 'X-Ticket': marker }, attachments: [{ filename: `${marker}.txt`, content: attachment.toString('base64') }],
    }));
    expect(done.status).toBe('sent');
    expect(arrived(done.messageId)[0]!.parsed.text).toContain(marker);
    const token = (await t.deps.services.mailboxTokens.tokenFor(from.id)).accessToken;
    const sasl = Buffer.from(`user=${from.email}\x01auth=Bearer ${token}\x01\x01`).toString('base64');

    const dump = await dumpRedis(t.deps.redis);
    const stored = [...dump.entries()].map(([key, value]) => `${key} ${value}`).join('\n');
    expect(stored).toContain(done.id);
    for (const secret of [marker, attachment.toString('base64'), token, sasl, token.split('.')[2]!]) {
      expect(stored).not.toContain(secret);
      expect(t.logs.text()).not.toContain(secret);
    }
    // nodemailer logged (at trace), with the token cut out.
    expect(t.logs.records().some((r) => r.component === 'smtp-send' && r.mailboxId === from.id && r.level === 10)).toBe(true);
    // The job payloads BullMQ keeps (failed ones are kept a week): send ids only.
    const jobs = await t.deps.queues.queue(SEND_QUEUE).getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    for (const job of jobs) expect(Object.keys(job.data as object)).toEqual(['sendId']);
  });
});
