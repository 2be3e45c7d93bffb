/**
 * Large messages (issue 17), over real HTTP: a body's long base64 fields are decoded as it
 * streams in (chunked or with a Content-Length, slashes escaped or not) and the message reaches
 * the sandbox SMTP server byte for byte; an API process holds at most SEND_BODY_BUDGET_BYTES of
 * bodies at once (503 server_busy with Retry-After past it, the share given back when the
 * answer goes or the client gives up); a body over the limit is a 413 before or while it is read.
 * Every wait is for an event: the body-bytes gauge, an answer, the SMTP server's message.
 */
import { randomBytes } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { sendBodyLimitBytes } from '../../src/config/sending-config.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';
import { appOnlyMailbox, finishedSend } from '../support/send-helpers.js';

const MIB = 1024 * 1024;
const MAX_MESSAGE = 2 * MIB;
const BUDGET = 6 * MIB;

const sandbox = useSandbox();
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(), POLL_IDLE: 'false', SEND_MAX_MESSAGE_BYTES: String(MAX_MESSAGE), SEND_BODY_BUDGET_BYTES: String(BUDGET),
}), () => sandbox.redis);
const email = 'large-sender@contoso.example';
let mailboxId: string;
let port: number;

beforeAll(async () => {
  await t.deps.jobs.startAll();
  mailboxId = await appOnlyMailbox(t, sandbox, email);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as AddressInfo).port;
});

interface Answer { status: number; headers: IncomingMessage['headers']; body: string }

/** A POST /v1/send over a socket; `chunked`: no Content-Length. The body is written by the caller. */
function open(options: { length?: number } = {}): { req: ClientRequest; answer: Promise<Answer> } {
  const headers: Record<string, string | number> = { ...t.auth, 'content-type': 'application/json' };
  if (options.length !== undefined) headers['content-length'] = options.length;
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/send', headers });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
  });
  // A request the test cuts on purpose never answers: not an unhandled rejection.
  answer.catch(() => undefined);
  return { req, answer };
}

/** Writes `body` in pieces of `piece` bytes, waiting for each write to be taken. */
async function write(req: ClientRequest, body: Buffer, piece: number): Promise<void> {
  for (let at = 0; at < body.length; at += piece) {
    await new Promise<void>((resolve, reject) => req.write(body.subarray(at, at + piece), (err) => (err ? reject(err) : resolve())));
  }
}

const inFlight = async (): Promise<number> => (await t.deps.metrics.sendBodyBytes.get()).values[0]?.value ?? 0;

const message = (file: Buffer, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  mailboxId, to: ['jane@example.org'], subject: 'invoice', text: 'attached', attachments: [{ filename: 'invoice.pdf', contentType: 'application/pdf', content: file.toString('base64') }], ...extra,
});

async function delivered(answer: Answer): Promise<{ id: string; attachment: Buffer }> {
  expect(answer.status, answer.body).toBe(202);
  const id = JSON.parse(answer.body).id as string;
  const view = await finishedSend(t, id, 60_000);
  expect(view.status, JSON.stringify(view.error)).toBe('sent');
  expect(view.contentReleasedAt).not.toBeNull();
  const got = sandbox.smtp.messages.find((m) => m.parsed.messageId === view.messageId)!;
  return { id, attachment: got.parsed.attachments[0]!.content };
}

describe('large messages', () => {
  it('a 1.4 MB file sent chunked, in odd pieces, with escaped slashes, arrives byte for byte; the stored content is released', async () => {
    const file = randomBytes(1_400_000);
    const body = Buffer.from(JSON.stringify(message(file)).replaceAll('/', '\\/'));
    const { req, answer } = open();
    await write(req, body, 7_919);
    req.end();
    const { id, attachment } = await delivered(await answer);
    expect(attachment.equals(file)).toBe(true);
    expect(await t.deps.redis.exists(t.deps.keys.send.content(id))).toBe(0);
    await waitUntil('the body budget given back', async () => ((await inFlight()) === 0 ? true : undefined));
  });

  it('a long raw message is decoded as it arrives too, and sent as given', async () => {
    const text = `${'A line of a long signed report. '.repeat(2)}\r\n`.repeat(3_000);
    const raw = `From: ${email}\r\nTo: jane@example.org\r\nSubject: Long raw\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${text}`;
    const body = Buffer.from(JSON.stringify({ mailboxId, raw: Buffer.from(raw).toString('base64') }));
    expect(body.length).toBeGreaterThan(64 * 1024 * 2);
    const { req, answer } = open({ length: body.length });
    req.end(body);
    const reply = await answer;
    expect(reply.status, reply.body).toBe(202);
    const view = await finishedSend(t, JSON.parse(reply.body).id as string, 60_000);
    expect(view.status).toBe('sent');
    const got = sandbox.smtp.messages.find((m) => m.parsed.messageId === view.messageId)!;
    const sent = got.raw.toString('utf8');
    expect(sent.slice(sent.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '')).toBe(text.replace(/\r\n$/, ''));
  });

  it('holds at most the budget of bodies: a second large body is a 503 with Retry-After until the first is answered', async () => {
    const file = randomBytes(1_200_000);
    const body = Buffer.from(JSON.stringify(message(file)));
    const first = open({ length: body.length });
    await write(first.req, body.subarray(0, 100_000), 50_000);
    await waitUntil('the first body taking its share', async () => ((await inFlight()) >= body.length ? true : undefined));

    // Announced: refused before a byte is read. Chunked: refused when it outgrows the room left.
    const declared = open({ length: BUDGET - body.length + 1 });
    declared.req.end();
    const refused = await declared.answer;
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'server_busy' });
    const chunked = open();
    chunked.req.on('error', () => undefined);
    void write(chunked.req, Buffer.alloc(sendBodyLimitBytes({ maxMessageBytes: MAX_MESSAGE }), 0x20), 256 * 1024).catch(() => undefined);
    expect((await chunked.answer).status).toBe(503);
    chunked.req.destroy();

    await write(first.req, body.subarray(100_000), 64 * 1024);
    first.req.end();
    const { attachment } = await delivered(await first.answer);
    expect(attachment.equals(file)).toBe(true);
    await waitUntil('every share given back', async () => ((await inFlight()) === 0 ? true : undefined));
    const again = open({ length: body.length });
    again.req.end(body);
    expect((await again.answer).status).toBe(202);
  });

  it('gives the share back when a client gives up halfway, and stores nothing of it', async () => {
    const body = Buffer.from(JSON.stringify(message(randomBytes(1_000_000))));
    const outbox = await t.deps.redis.llen(t.deps.keys.send.outbox());
    const cut = open({ length: body.length });
    cut.req.on('error', () => undefined);
    await write(cut.req, body.subarray(0, 500_000), 100_000);
    await waitUntil('the body taking its share', async () => ((await inFlight()) >= body.length ? true : undefined));
    cut.req.destroy();
    await waitUntil('the share given back', async () => ((await inFlight()) === 0 ? true : undefined));
    expect(await t.deps.redis.llen(t.deps.keys.send.outbox())).toBe(outbox);
  });

  it('refuses a body over the route limit: announced, at once; chunked, when it passes the limit', async () => {
    const limit = sendBodyLimitBytes({ maxMessageBytes: MAX_MESSAGE });
    const announced = open({ length: limit + 1 });
    announced.req.on('error', () => undefined);
    announced.req.write('{');
    const answer = await announced.answer;
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'payload_too_large' });
    announced.req.destroy();

    const chunked = open();
    chunked.req.on('error', () => undefined);
    void write(chunked.req, Buffer.from(`{"mailboxId":"${mailboxId}","raw":"${'QUJD'.repeat(Math.ceil(limit / 4))}"}`), 128 * 1024).catch(() => undefined);
    expect((await chunked.answer).status).toBe(413);
    chunked.req.destroy();
    await waitUntil('every share given back', async () => ((await inFlight()) === 0 ? true : undefined));
  });

  it('a long attachment that is not base64 is refused at its field; a body cut inside it is invalid JSON', async () => {
    const bad = 'QUJD'.repeat(40_000) + '!' + 'QUJD'.repeat(10);
    const body = Buffer.from(JSON.stringify({ ...message(Buffer.alloc(0)), attachments: [{ filename: 'a.bin', content: bad }] }));
    const one = open({ length: body.length });
    one.req.end(body);
    const refused = await one.answer;
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body).errors.map((e: { field: string }) => e.field)).toContain('/body/attachments/0/content');

    const cutBody = body.subarray(0, 100_000);
    const cut = open({ length: cutBody.length });
    cut.req.end(cutBody);
    const invalid = await cut.answer;
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body)).toMatchObject({ code: 'invalid_json' });
  });
});
