/**
 * POST /v1/send refuses what it must refuse before anything is stored:
 * header injection (CR/LF in the subject, in header names and values, in
 * addresses, in attachment file names, in Message-ID references), headers
 * the service writes itself, display-name tricks, malformed JSON, unknown
 * fields, wrong types, too many recipients, bad base64, oversize bodies, an
 * unknown mailbox. And what it accepts is stored encrypted, its id alone in
 * the outbox. No worker runs here: accepted messages stay queued.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { SEND_QUEUE } from '../../src/jobs/sending/send-jobs.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { dumpRedis } from '../support/redis-dump.js';

const MAX_BYTES = 64 * 1024;

let mailboxId: string;

async function mailboxIn(t: TestApp): Promise<string> {
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  const mailbox = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: connection.json().id, email: 'support@contoso.example', pollIntervalSeconds: 86_400 },
  });
  expect(mailbox.statusCode, mailbox.body).toBe(201);
  return mailbox.json().id;
}

const redis = useRedis();
const small = useTestApp({ SEND_MAX_MESSAGE_BYTES: String(MAX_BYTES), SEND_MAX_RECIPIENTS: '5', SEND_RECIPIENTS_PER_DAY: '100' }, redis);
beforeAll(async () => {
  mailboxId = await mailboxIn(small);
});

const post = (payload: unknown, headers: Record<string, string> = {}, t: TestApp = small) =>
  t.app.inject({ method: 'POST', url: '/v1/send', headers: { ...t.auth, ...headers }, payload: payload as Record<string, unknown> });

const valid = () => ({ mailboxId, to: ['a@example.org'], subject: 'hello', text: 'x' });

async function refused(payload: unknown, status: number, code: string, field?: string): Promise<void> {
  const res = await post(payload);
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const problem = res.json();
  expect(problem.code).toBe(code);
  if (field) expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
}

describe('header injection is a 400', () => {
  it.each([
    ['CRLF in the subject', { subject: 'Hi\r\nBcc: victim@example.org' }, '/body/subject'],
    ['a bare LF in the subject', { subject: 'Hi\nX-Evil: 1' }, '/body/subject'],
    ['CRLF in a header value', { headers: { 'X-Ticket': '42\r\nBcc: victim@example.org' } }, '/body/headers/X-Ticket'],
    ['CRLF in a header name', { headers: { 'X-Ticket\r\nBcc': 'victim@example.org' } }, '/body/headers/X-Ticket\r\nBcc'],
    ['a colon in a header name', { headers: { 'X-A: b': 'c' } }, '/body/headers/X-A: b'],
    ['Bcc through headers', { headers: { Bcc: 'victim@example.org' } }, '/body/headers/Bcc'],
    ['From through headers', { headers: { from: 'ceo@contoso.example' } }, '/body/headers/from'],
    ['Message-ID through headers', { headers: { 'Message-ID': '<x@y>' } }, '/body/headers/Message-ID'],
    ['Content-Type through headers', { headers: { 'Content-Type': 'text/html' } }, '/body/headers/Content-Type'],
    ['an Exchange control header', { headers: { 'X-MS-Exchange-Organization-BypassClutter': 'true' } }, '/body/headers/X-MS-Exchange-Organization-BypassClutter'],
    ['CRLF in an address', { to: ['a@example.org\r\nBcc: victim@example.org'] }, '/body/to/0'],
    ['a display name', { to: ['"Boss" <victim@example.org>'] }, '/body/to/0'],
    ['two addresses in one', { cc: ['a@example.org, victim@example.org'] }, '/body/cc/0'],
    ['a comment in an address', { bcc: ['a@example.org (x)'] }, '/body/bcc/0'],
    ['CRLF in replyTo', { replyTo: 'a@example.org\r\nX-Evil: 1' }, '/body/replyTo'],
    ['CRLF in a file name', { attachments: [{ filename: 'a.txt\r\nContent-Type: text/html', content: 'eA==' }] }, '/body/attachments/0/filename'],
    ['a path as file name', { attachments: [{ filename: '../../etc/passwd', content: 'eA==' }] }, '/body/attachments/0/filename'],
    ['a content type with parameters', { attachments: [{ filename: 'a.txt', contentType: 'text/plain; x="\r\n"', content: 'eA==' }] }, '/body/attachments/0/contentType'],
    ['CRLF in inReplyTo', { inReplyTo: '<a@b>\r\nBcc: victim@example.org' }, '/body/inReplyTo'],
    ['a malformed reference', { references: ['<a@b>', 'no-brackets@b'] }, '/body/references/1'],
  ])('%s', async (_what, patch, field) => {
    await refused({ ...valid(), ...patch }, 400, 'validation_failed', field);
  });
});

describe('hostile input', () => {
  it('malformed JSON, another media type, unknown fields and wrong types', async () => {
    const raw = await small.app.inject({ method: 'POST', url: '/v1/send', headers: { ...small.auth, 'content-type': 'application/json' }, payload: '{"mailboxId": "x", "to": [' });
    expect(raw.statusCode).toBe(400);
    expect(raw.json().code).toBe('invalid_json');
    const text = await small.app.inject({ method: 'POST', url: '/v1/send', headers: { ...small.auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'to=a' });
    expect(text.statusCode).toBe(415);
    await refused({ ...valid(), from: 'ceo@contoso.example' }, 400, 'validation_failed', '/body/from');
    await refused({ ...valid(), attachments: [{ filename: 'a', content: 'eA==', path: '/etc/passwd' }] }, 400, 'validation_failed', '/body/attachments/0/path');
    await refused({ ...valid(), to: 'a@example.org' }, 400, 'validation_failed');
    await refused({ ...valid(), subject: 42 }, 400, 'validation_failed');
    await refused({ ...valid(), headers: { 'X-A': 1 } }, 400, 'validation_failed');
    await refused([valid()], 400, 'validation_failed');
    const unauthenticated = await small.app.inject({ method: 'POST', url: '/v1/send', payload: valid() });
    expect(unauthenticated.statusCode).toBe(401);
  });

  it('recipients: none, too many (distinct, across to/cc/bcc)', async () => {
    await refused({ mailboxId, subject: 'x', text: 'x' }, 400, 'validation_failed', '/body/to');
    await refused({ ...valid(), to: [], cc: [], bcc: [] }, 400, 'validation_failed', '/body/to');
    const six = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `${n}@example.org`);
    await refused({ ...valid(), to: six.slice(0, 3), cc: six.slice(3, 5), bcc: six.slice(5) }, 400, 'validation_failed', '/body/to');
    // The same address twice counts once.
    expect((await post({ ...valid(), to: six.slice(0, 5), cc: ['A@example.org'] })).statusCode).toBe(202);
  });

  it('attachments must be strict base64', async () => {
    for (const content of ['eA=', 'e A==', 'eA==\n', 'e-A_', 'eB==', '!!!!']) {
      await refused({ ...valid(), attachments: [{ filename: 'a.bin', content }] }, 400, 'validation_failed', '/body/attachments/0/content');
    }
    expect((await post({ ...valid(), attachments: [{ filename: 'ok.bin', content: '' }] })).statusCode).toBe(202);
  });

  it('an unknown mailbox is a 400 naming mailboxId; an unknown send id a 404', async () => {
    await refused({ ...valid(), mailboxId: 'mbx_AAAAAAAAAAAAAAAA' }, 400, 'validation_failed', '/body/mailboxId');
    const missing = await small.app.inject({ method: 'GET', url: '/v1/send/snd_AAAAAAAAAAAAAAAA', headers: small.auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it('over the message size: 413 from the size as sent (base64), and from the route body limit; other routes keep 1 MiB', async () => {
    // Three quarters of the limit as a file is more than the limit once in base64, as Exchange counts it.
    const over = randomBytes(Math.floor(MAX_BYTES * 0.76)).toString('base64');
    const res = await post({ ...valid(), attachments: [{ filename: 'big.bin', content: over }] });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'payload_too_large', limitBytes: MAX_BYTES });
    expect(res.json().detail).toMatch(/as sent/);
    const fits = randomBytes(Math.floor(MAX_BYTES * 0.6)).toString('base64');
    expect((await post({ ...valid(), attachments: [{ filename: 'fits.bin', content: fits }] })).statusCode).toBe(202);

    const huge = await post({ ...valid(), text: 'y'.repeat(3 * 1024 * 1024) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('payload_too_large');
    const elsewhere = await small.app.inject({
      method: 'POST', url: '/v1/connections', headers: small.auth,
      payload: { name: 'x'.repeat(1_100_000), flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: 'y' },
    });
    expect(elsewhere.statusCode).toBe(413);
  });
});

describe('what is accepted is stored encrypted, and only its id waits for a worker', () => {
  it('with the default limits, a 24 MiB attachment (32 MiB of base64) is accepted; nothing of the message is in Redis in clear', async () => {
    const t = await buildTestApp(redis.url);
    try {
      const id = await mailboxIn(t);
      const marker = `m${randomBytes(8).toString('hex')}`;
      const attachment = Buffer.concat([Buffer.from(`attachment-${marker}-`), randomBytes(24 * 1024 * 1024 - 64)]);
      const res = await post({
        mailboxId: id, to: [`to-${marker}@example.org`], bcc: [`bcc-${marker}@example.org`],
        subject: `subject-${marker}`, text: `text-${marker}`, html: `<p>html-${marker}</p>`,
        headers: { 'X-Ticket': `header-${marker}` },
        attachments: [{ filename: `file-${marker}.bin`, content: attachment.toString('base64') }],
      }, {}, t);
      expect(res.statusCode, res.body.slice(0, 500)).toBe(202);
      const sendId = res.json().id as string;

      // No worker runs here: the message waits in the outbox, as its id alone.
      expect(await t.deps.redis.lrange(t.deps.keys.send.outbox(), 0, -1)).toEqual([sendId]);
      expect(await t.deps.queues.queue(SEND_QUEUE).getJob(sendId)).toBeUndefined();
      const dump = await dumpRedis(t.deps.redis, `*${t.config.redis.prefix}*`);
      const everything = [...dump.entries()].map(([k, v]) => `${k}\n${v}`).join('\n');
      expect(everything).toContain(sendId);
      expect(everything).not.toContain(marker);
      expect(everything).not.toContain(attachment.subarray(0, 30).toString('base64'));
      // Stored once, decoded and encrypted as binary: about the attachment's own size, not its base64's.
      const content = await t.deps.redis.getBuffer(t.deps.keys.send.content(sendId));
      expect(content!.subarray(0, 4).toString()).toBe('ms2.');
      expect(content!.length).toBeLessThan(attachment.length * 1.01);
      expect(content!.includes(attachment.subarray(100, 200))).toBe(false);
      expect(t.logs.text()).not.toContain(marker);
    } finally {
      await t.close();
    }
  });
});
