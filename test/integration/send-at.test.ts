/**
 * Scheduled sending and canceling through the real app, its job runtime (in
 * this process) and the sandbox's SMTP imitation of Exchange: a message with
 * a sendAt is `scheduled` until then and reaches the SMTP server at or after
 * that time, not before; DELETE cancels a scheduled or queued message (it is
 * never delivered) and is a 409 once the message is sent; bad sendAt values
 * are 400s naming /body/sendAt. Worker processes (a kill, cancels racing the
 * workers) are in send-at-processes.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import type { RecordedMessage } from '../../sandbox/smtp.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';

type View = {
  id: string; mailboxId: string; status: string; attempts: number; messageId: string; smtpResponse: string | null;
  error: { code: string } | null; sendAt?: string; createdAt: string; updatedAt: string;
};

const sandbox = useSandbox();
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(),
  SEND_RATE_PER_MINUTE: '0',
  SEND_RECIPIENTS_PER_DAY: '0',
  SEND_SCHEDULE_INTERVAL_MS: '100',
}), () => sandbox.redis);

let mailboxId: string;
beforeAll(async () => {
  await t.deps.jobs.startAll();
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'sched', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  const mailbox = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: connection.json().id, email: 'scheduler@contoso.example', pollIntervalSeconds: 86_400, ...sandbox.mailServers() },
  });
  expect(mailbox.statusCode, mailbox.body).toBe(201);
  mailboxId = mailbox.json().id;
});

const send = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/v1/send', headers: { ...t.auth, ...headers }, payload: { mailboxId, to: ['customer@example.org'], text: 'x', ...payload } });
const cancel = (id: string) => t.app.inject({ method: 'DELETE', url: `/v1/send/${id}`, headers: t.auth });

async function view(id: string): Promise<View> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/send/${id}`, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as View;
}

const status = (id: string, wanted: string, timeoutMs = 15_000) =>
  waitUntil(`send ${id} ${wanted}`, async () => {
    const v = await view(id);
    return v.status === wanted ? v : undefined;
  }, timeoutMs);

const arrived = (messageId: string): RecordedMessage[] => sandbox.smtp.messages.filter((m) => m.parsed.messageId === messageId);

describe('sendAt', () => {
  it('is scheduled until its time, then delivered once, at or after it (dated then), never before', async () => {
    const sendAt = new Date(Date.now() + 2_000).toISOString();
    const res = await send({ subject: 'scheduled', sendAt });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ id: expect.stringMatching(/^snd_/), status: 'scheduled' });
    const id = res.json().id as string;
    const scheduled = await view(id);
    expect(scheduled).toMatchObject({ id, status: 'scheduled', attempts: 0, sendAt, error: null, smtpResponse: null });

    const sent = await status(id, 'sent');
    expect(sent).toMatchObject({ sendAt, attempts: 1 });
    const [message, ...more] = arrived(sent.messageId);
    expect(more).toHaveLength(0);
    expect(message!.receivedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(sendAt));
    expect(message!.parsed.date?.toISOString()).toBe(new Date(Math.floor(Date.parse(sendAt) / 1000) * 1000).toISOString());
  });

  it('given in another zone, the view shows the same instant in UTC', async () => {
    const at = Date.now() + 600_000;
    const local = `${new Date(at + 2 * 3_600_000).toISOString().slice(0, -1)}+02:00`;
    const res = await send({ subject: 'zoned', sendAt: local });
    expect(res.statusCode, res.body).toBe(202);
    expect(await view(res.json().id)).toMatchObject({ status: 'scheduled', sendAt: new Date(at).toISOString() });
    expect((await cancel(res.json().id)).statusCode).toBe(200);
  });

  it('a time not in the future is sent at once (queued), and the view still shows it', async () => {
    const sendAt = new Date(Date.now() - 60_000).toISOString();
    const res = await send({ subject: 'past', sendAt });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().status).toBe('queued');
    const sent = await status(res.json().id, 'sent');
    expect(sent.sendAt).toBe(sendAt);
    expect(arrived(sent.messageId)).toHaveLength(1);
  });

  it('an Idempotency-Key replay answers the first response: scheduled, also after a cancel', async () => {
    const body = { subject: 'replayed', sendAt: new Date(Date.now() + 600_000).toISOString() };
    const first = await send(body, { 'idempotency-key': 'sched-1' });
    expect(first.json()).toEqual({ id: expect.any(String), status: 'scheduled' });
    const again = await send(body, { 'idempotency-key': 'sched-1' });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(first.json());
    expect((await cancel(first.json().id)).statusCode).toBe(200);
    expect((await send(body, { 'idempotency-key': 'sched-1' })).json()).toEqual(first.json());
    // Without a sendAt the first answer was queued, and stays so.
    const plain = await send({ subject: 'plain replay' }, { 'idempotency-key': 'plain-1' });
    expect((await send({ subject: 'plain replay' }, { 'idempotency-key': 'plain-1' })).json()).toEqual({ id: plain.json().id, status: 'queued' });
  });

  it.each([
    ['not a date', 'tomorrow at nine'],
    ['a date without a time', '2026-05-01'],
    ['a time without a zone', '2026-05-01T09:00:00'],
    ['a day that does not exist', '2026-02-30T09:00:00Z'],
    ['a number', 1_777_000_000],
    ['null', null],
    ['more than 30 days ahead', () => new Date(Date.now() + 30 * 86_400_000 + 60_000).toISOString()],
  ])('%s is a 400 naming /body/sendAt, and nothing is stored', async (_what, value) => {
    const sendAt = typeof value === 'function' ? value() : value;
    const before = await t.deps.redis.zcard(t.deps.keys.send.scheduled());
    const res = await send({ subject: 'bad', sendAt });
    expect(res.statusCode, res.body).toBe(400);
    const problem = res.json();
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((e: { field: string }) => e.field)).toContain('/body/sendAt');
    expect(await t.deps.redis.zcard(t.deps.keys.send.scheduled())).toBe(before);
  });

  it('exactly 30 days ahead is accepted', async () => {
    const res = await send({ subject: 'far', sendAt: new Date(Date.now() + 30 * 86_400_000 - 5_000).toISOString() });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().status).toBe('scheduled');
    expect((await cancel(res.json().id)).statusCode).toBe(200);
  });
});

describe('DELETE /v1/send/{id}', () => {
  it('cancels a scheduled message: 200 canceled, never delivered (a later message of the mailbox, due after it, is)', async () => {
    const due = Date.now() + 1_500;
    const res = await send({ subject: 'to cancel', sendAt: new Date(due).toISOString() });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const canceled = await cancel(id);
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(canceled.json()).toMatchObject({ id, status: 'canceled', attempts: 0, sendAt: new Date(due).toISOString() });
    // Its content is gone; its status stays.
    expect(await t.deps.redis.exists(t.deps.keys.send.content(id))).toBe(0);

    const later = await send({ subject: 'after the canceled one', sendAt: new Date(due + 1_000).toISOString() });
    expect(later.statusCode, later.body).toBe(202);
    const delivered = await status(later.json().id, 'sent');
    expect(arrived(delivered.messageId)).toHaveLength(1);
    const after = await view(id);
    expect(after).toMatchObject({ status: 'canceled', attempts: 0 });
    expect(arrived(after.messageId)).toHaveLength(0);
    expect(sandbox.smtp.messages.filter((m) => m.parsed.subject === 'to cancel')).toHaveLength(0);
    // Canceling again answers the same.
    expect((await cancel(id)).json()).toMatchObject({ id, status: 'canceled' });
  });

  it('cancels a queued message no worker has taken yet (the workers paused): never delivered', async () => {
    await t.deps.jobs.stopAll();
    try {
      const res = await send({ subject: 'queued then canceled' });
      const id = res.json().id as string;
      expect((await view(id)).status).toBe('queued');
      const canceled = await cancel(id);
      expect(canceled.statusCode, canceled.body).toBe(200);
      expect(canceled.json()).toMatchObject({ id, status: 'canceled', attempts: 0 });
    } finally {
      await t.deps.jobs.startAll();
    }
    const next = await send({ subject: 'after the canceled queued one' });
    await status(next.json().id, 'sent');
    expect(sandbox.smtp.messages.filter((m) => m.parsed.subject === 'queued then canceled')).toHaveLength(0);
  });

  it('is a 409 send_not_cancelable with a hint once the message is sent; 404 for an unknown or malformed id', async () => {
    const res = await send({ subject: 'sent, then too late' });
    const id = res.json().id as string;
    await status(id, 'sent');
    const late = await cancel(id);
    expect(late.statusCode, late.body).toBe(409);
    expect(late.headers['content-type']).toContain('application/problem+json');
    expect(late.json()).toMatchObject({ code: 'send_not_cancelable', status: 409, sendId: id, sendStatus: 'sent' });
    expect(late.json().hint).toEqual(expect.any(String));
    expect((await view(id)).status).toBe('sent');

    for (const unknown of ['snd_AAAAAAAAAAAAAAAA', 'snd_nope', 'mbx_AAAAAAAAAAAAAAAA']) {
      const [gone, get] = [await cancel(unknown), await t.app.inject({ method: 'GET', url: `/v1/send/${unknown}`, headers: t.auth })];
      expect(gone.statusCode).toBe(404);
      expect(gone.statusCode).toBe(get.statusCode);
      expect(gone.json().code).toBe(get.json().code);
    }
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/send/${id}` })).statusCode).toBe(401);
  });
});
