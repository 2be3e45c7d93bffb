/**
 * Reading mail (GET /v1/mailboxes/{id}/messages…) against the sandbox
 * Dovecot: pagination, parsing, byte-exact raw downloads, special-use
 * folders, read-only access, 404s, hostile messages, size limits, query
 * validation, sessions closed after every request (a client that hangs up
 * mid-download included), and no token in any log line.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doveadmFor, parseFlow } from '../../sandbox/doveadm.js';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { hugeSubjectMail, rawMail, waitUntil } from '../support/mail.js';
import { multipartMessage } from '../support/mime.js';

type Address = { name: string | null; address: string | null };
type Envelope = { uid: number; subject: string | null; from: Address[]; to: Address[]; date: string | null; size: number; flags: string[]; messageId: string | null; envelopeTooLarge?: boolean };
type Page = { folder: string; uidValidity: number; items: Envelope[]; nextBeforeUid: number | null };

let connectionId: string;
const bodies: string[] = [];

async function connection(app: TestApp): Promise<string> {
  const res = await app.app.inject({
    method: 'POST', url: '/v1/connections', headers: app.auth,
    payload: { name: 'reader', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function mailbox(email: string, app: TestApp = t, connection = connectionId): Promise<string> {
  const res = await app.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: app.auth,
    // A long interval: these tests read; the poller (not started here) never runs anyway.
    payload: { connectionId: connection, email, pollIntervalSeconds: 3600, ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function get(url: string, app: TestApp = t) {
  const res = await app.app.inject({ method: 'GET', url, headers: app.auth });
  bodies.push(res.body);
  return res;
}

const doveadm = () => doveadmFor(sandbox.dovecot.configFile);

async function flagsOf(user: string, folder: string, uid: number): Promise<string> {
  const out = await doveadm()(['-f', 'flow', 'fetch', '-u', user, 'flags', 'mailbox', folder, 'uid', String(uid)]);
  return parseFlow(out)[0]?.flags ?? '';
}

async function imapSessions(user: string): Promise<number> {
  return (await doveadm()(['who', '-1', user])).split('\n').slice(1).filter((line) => line.trim()).length;
}

const user = (name: string) => `read-${name}-${randomBytes(3).toString('hex')}@contoso.example`;

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), LOG_LEVEL: 'trace' }), () => sandbox.redis);
beforeAll(async () => {
  connectionId = await connection(t);
});

describe('GET /v1/mailboxes/{id}/messages', () => {
  it('lists envelopes newest first and pages with beforeUid', async () => {
    const email = user('list');
    for (let i = 1; i <= 5; i += 1) await sandbox.dovecot.deliver(email, rawMail(email, `message ${i}`));
    const id = await mailbox(email);

    const all = await get(`/v1/mailboxes/${id}/messages`);
    expect(all.statusCode, all.body).toBe(200);
    const page: Page = all.json();
    expect(page.folder).toBe('INBOX');
    expect(page.uidValidity).toBeGreaterThan(0);
    expect(page.items.map((m) => m.uid)).toEqual([5, 4, 3, 2, 1]);
    expect(page.nextBeforeUid).toBeNull();
    expect(page.items[0]).toMatchObject({
      subject: 'message 5', from: [{ name: 'Customer', address: 'customer@example.org' }], to: [{ name: null, address: email }], flags: [],
    });
    expect(page.items[0]?.size).toBeGreaterThan(100);
    expect(Date.parse(page.items[0]?.date ?? '')).not.toBeNaN();
    expect(page.items[0]?.messageId).toMatch(/^<.+@example\.org>$/);

    const seen: number[] = [];
    let cursor: number | null | undefined;
    do {
      const res = await get(`/v1/mailboxes/${id}/messages?limit=2${cursor ? `&beforeUid=${cursor}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const p: Page = res.json();
      expect(p.items.length).toBeLessThanOrEqual(2);
      seen.push(...p.items.map((m) => m.uid));
      cursor = p.nextBeforeUid;
    } while (cursor);
    expect(seen).toEqual([5, 4, 3, 2, 1]);

    // A cursor above every UID is the first page; one at the lowest UID, the end.
    expect((await get(`/v1/mailboxes/${id}/messages?limit=2&beforeUid=1000`)).json().items.map((m: Envelope) => m.uid)).toEqual([5, 4]);
    expect((await get(`/v1/mailboxes/${id}/messages?beforeUid=1`)).json()).toMatchObject({ items: [], nextBeforeUid: null });
  });

  it('lists a page that holds a message whose envelope is too large: that one by UID, size and flags, the others whole', async () => {
    const email = user('too-large');
    await sandbox.dovecot.deliver(email, rawMail(email, 'before it'));
    await sandbox.dovecot.deliver(email, hugeSubjectMail(email));
    await sandbox.dovecot.deliver(email, rawMail(email, 'after it'));
    const id = await mailbox(email);

    const res = await get(`/v1/mailboxes/${id}/messages`);
    expect(res.statusCode, res.body).toBe(200);
    const page: Page = res.json();
    expect(page.items.map((m) => [m.uid, m.subject])).toEqual([[3, 'after it'], [2, null], [1, 'before it']]);
    expect(page.items[1]).toMatchObject({ envelopeTooLarge: true, from: [], to: [], flags: [] });
    expect(page.items[1]!.size).toBeGreaterThan(1024 * 1024);
    expect(page.items[0]).not.toHaveProperty('envelopeTooLarge');
    // Its source is still there to read, and no session is left behind by the ones the answers dropped.
    const raw = await get(`/v1/mailboxes/${id}/messages/2/raw`);
    expect(raw.statusCode).toBe(200);
    expect(raw.rawPayload.length).toBe(page.items[1]!.size);
    await waitUntil('no IMAP session left', async () => ((await imapSessions(email)) === 0 ? true : undefined), 5_000);
  });

  it('an empty folder is an empty page', async () => {
    const id = await mailbox(user('empty'));
    const res = await get(`/v1/mailboxes/${id}/messages`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ folder: 'INBOX', items: [], nextBeforeUid: null });
  });

  it('finds the sent folder by its special use, and by name', async () => {
    const email = user('sent');
    await sandbox.dovecot.deliver(email, rawMail('someone@example.org', 'sent one', email), 'Sent Items');
    const id = await mailbox(email);
    const byUse = await get(`/v1/mailboxes/${id}/messages?folder=${encodeURIComponent('\\Sent')}`);
    expect(byUse.statusCode, byUse.body).toBe(200);
    expect(byUse.json()).toMatchObject({ folder: 'Sent Items', items: [{ uid: 1, subject: 'sent one' }] });
    const byName = await get(`/v1/mailboxes/${id}/messages?folder=${encodeURIComponent('Sent Items')}`);
    expect(byName.json().items).toHaveLength(1);
    const message = await get(`/v1/mailboxes/${id}/messages/1?folder=${encodeURIComponent('\\Sent')}`);
    expect(message.statusCode, message.body).toBe(200);
    expect(message.json()).toMatchObject({ folder: 'Sent Items', subject: 'sent one' });
  });

  it('unknown folder → 404 folder_not_found; unknown mailbox → 404 not_found', async () => {
    const id = await mailbox(user('nofolder'));
    for (const url of [
      `/v1/mailboxes/${id}/messages?folder=Nope`,
      `/v1/mailboxes/${id}/messages?folder=${encodeURIComponent('\\Flagged')}`,
      `/v1/mailboxes/${id}/messages/1?folder=Nope`,
      `/v1/mailboxes/${id}/messages/1/raw?folder=Nope`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ code: 'folder_not_found', status: 404 });
      expect(res.json().hint).toContain('special use');
    }
    const missing = await get('/v1/mailboxes/mbx_doesnotexist/messages');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it('invalid query parameters → 400 validation_failed, never 500', async () => {
    const id = await mailbox(user('invalid'));
    const urls = [
      'messages?limit=0', 'messages?limit=201', 'messages?limit=abc', 'messages?limit=1.5', 'messages?beforeUid=0',
      'messages?beforeUid=-1', 'messages?beforeUid=4294967296', 'messages?beforeUid=x', 'messages?folder=', 'messages?unknown=1',
      `messages?folder=${'a'.repeat(201)}`, 'messages?folder=INBOX&folder=Sent', 'messages/1?limit=2', 'messages/1/raw?x=y',
    ];
    for (const path of urls) {
      const res = await get(`/v1/mailboxes/${id}/${path}`);
      expect(res.statusCode, `${path}: ${res.body}`).toBe(400);
      expect(res.json().code, path).toBe('validation_failed');
    }
  });

  it('a UID that is not a decimal integer from 1 to 2^32-1 → 404 message_not_found, as an unknown one (issue 13)', async () => {
    const id = await mailbox(user('baduid'));
    for (const path of ['messages/0', 'messages/abc', 'messages/99999999999', 'messages/1.5', 'messages/-1/raw', 'messages/0x10', 'messages/01']) {
      const res = await get(`/v1/mailboxes/${id}/${path}`);
      expect(res.statusCode, `${path}: ${res.body}`).toBe(404);
      expect(res.json().code, path).toBe('message_not_found');
    }
  });
});

describe('GET /v1/mailboxes/{id}/messages/{uid}', () => {
  it('parses text, html and attachment metadata, without attachment bodies', async () => {
    const email = user('parsed');
    const pdf = randomBytes(30_000);
    const logo = randomBytes(2_000);
    const raw = multipartMessage({
      to: email, subject: 'Invoice ✓', text: 'Please find the invoice attached.', html: '<p>Please find the <b>invoice</b> attached.<img src="cid:logo@x"></p>',
      attachments: [
        { filename: 'invoice.pdf', contentType: 'application/pdf', content: pdf },
        { filename: 'logo.png', contentType: 'image/png', content: logo, contentId: 'logo@x' },
      ],
    });
    await sandbox.dovecot.deliver(email, raw);
    const id = await mailbox(email);
    const res = await get(`/v1/mailboxes/${id}/messages/1`);
    expect(res.statusCode, res.body).toBe(200);
    const m = res.json();
    expect(m).toMatchObject({
      uid: 1, folder: 'INBOX', size: raw.length, flags: [], subject: 'Invoice ✓',
      from: [{ name: 'Customer', address: 'customer@example.org' }], to: [{ address: email }],
      date: '2025-06-03T10:00:00.000Z', text: 'Please find the invoice attached.', headersTruncated: false,
    });
    // As stored: the cid: link is not replaced with the image.
    expect(m.html).toContain('<img src="cid:logo@x">');
    expect(m.attachments).toEqual([
      { id: '2', filename: 'invoice.pdf', contentType: 'application/pdf', size: pdf.length, contentId: null, checksum: createHash('sha256').update(pdf).digest('hex'), disposition: 'attachment' },
      { id: '3', filename: 'logo.png', contentType: 'image/png', size: logo.length, contentId: 'logo@x', checksum: createHash('sha256').update(logo).digest('hex'), disposition: 'inline' },
    ]);
    expect(m.headers.find((h: { name: string }) => h.name === 'Subject')).toEqual({ name: 'Subject', value: 'Invoice ✓' });
    expect(m.headers.map((h: { name: string }) => h.name)).toContain('Content-Type');
    expect(res.body).not.toContain(pdf.toString('base64').slice(0, 76));
    expect(res.body.length).toBeLessThan(pdf.length);
  });

  it('unknown uid → 404 message_not_found, for the parsed and the raw message', async () => {
    const email = user('nouid');
    await sandbox.dovecot.deliver(email, rawMail(email, 'only one'));
    const id = await mailbox(email);
    for (const url of [`/v1/mailboxes/${id}/messages/2`, `/v1/mailboxes/${id}/messages/4294967295/raw`]) {
      const res = await get(url);
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json()).toMatchObject({ code: 'message_not_found', status: 404 });
    }
  });

  it('reading never sets \\Seen', async () => {
    const email = user('seen');
    await sandbox.dovecot.deliver(email, rawMail(email, 'unread'));
    await sandbox.dovecot.deliver(email, rawMail(email, 'read before'));
    await doveadm()(['flags', 'add', '-u', email, '\\Seen', 'mailbox', 'INBOX', 'uid', '2']);
    const id = await mailbox(email);
    expect((await get(`/v1/mailboxes/${id}/messages`)).statusCode).toBe(200);
    expect((await get(`/v1/mailboxes/${id}/messages/1`)).statusCode).toBe(200);
    expect((await get(`/v1/mailboxes/${id}/messages/1/raw`)).statusCode).toBe(200);
    expect(await flagsOf(email, 'INBOX', 1)).not.toContain('\\Seen');
    expect(await flagsOf(email, 'INBOX', 2)).toContain('\\Seen');
    const items = (await get(`/v1/mailboxes/${id}/messages`)).json().items as Envelope[];
    expect(items.map((m) => [m.uid, m.flags])).toEqual([[2, ['\\Seen']], [1, []]]);
  });
});

describe('hostile messages', () => {
  it('thousands of headers and very long header lines: bounded, flagged as truncated', async () => {
    const email = user('headers');
    const many = Array.from({ length: 3_000 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(40)}`);
    const long = `X-Long: ${'a'.repeat(200_000)}`;
    const folded = `X-Folded: first\r\n\tsecond\r\n  third`;
    const raw = [`From: a@example.org`, `To: ${email}`, 'Subject: noisy', folded, long, ...many, '', 'body', ''].join('\r\n');
    await sandbox.dovecot.deliver(email, raw);
    const id = await mailbox(email);
    const res = await get(`/v1/mailboxes/${id}/messages/1`);
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
    const m = res.json();
    expect(m.headersTruncated).toBe(true);
    expect(m.headers).toHaveLength(500);
    expect(m.headers.find((h: { name: string }) => h.name === 'X-Folded').value).toBe('first\tsecond  third');
    expect(m.headers.find((h: { name: string }) => h.name === 'X-Long').value).toHaveLength(8_192);
    expect(m.text).toBe('body\n');
    // The list still answers.
    expect((await get(`/v1/mailboxes/${id}/messages`)).json().items[0].subject).toBe('noisy');
  });

  it('a subject with bytes that are not UTF-8: replacement characters, not an error', async () => {
    const email = user('badutf8');
    const raw = Buffer.concat([
      Buffer.from(`From: a@example.org\r\nTo: ${email}\r\nSubject: caf`),
      Buffer.from([0xe9, 0x20, 0xff, 0xfe, 0xc3]),
      Buffer.from(' end\r\n\r\nbody\r\n'),
    ]);
    await sandbox.dovecot.deliver(email, raw);
    const id = await mailbox(email);
    const list = await get(`/v1/mailboxes/${id}/messages`);
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().items[0].subject).toMatch(/^caf.* end$/);
    const one = await get(`/v1/mailboxes/${id}/messages/1`);
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json().subject).toMatch(/^caf\uFFFD.*end$/);
    const raw2 = await get(`/v1/mailboxes/${id}/messages/1/raw`);
    expect(raw2.rawPayload.equals(raw)).toBe(true);
  });
});

describe('GET /v1/mailboxes/{id}/messages/{uid}/raw', () => {
  it('streams the message byte for byte, as message/rfc822 attachment', async () => {
    const email = user('raw');
    const raw = Buffer.concat([
      multipartMessage({ to: email, subject: 'raw ✓', text: 'tëxt', html: '<i>x</i>', attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: randomBytes(200_000) }] }),
    ]);
    await sandbox.dovecot.deliver(email, raw);
    const id = await mailbox(email);
    const res = await get(`/v1/mailboxes/${id}/messages/1/raw`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('message/rfc822');
    expect(res.headers['content-disposition']).toBe('attachment; filename="1.eml"');
    expect(res.rawPayload.length).toBe(raw.length);
    expect(res.rawPayload.equals(raw)).toBe(true);
  });

  it('a message delivered with bare LF line endings comes back with CRLF (Dovecot stores LF, IMAP speaks CRLF)', async () => {
    const email = user('lf');
    const lf = rawMail(email, 'bare lf').replace(/\r\n/g, '\n');
    await sandbox.dovecot.deliver(email, lf);
    const id = await mailbox(email);
    const res = await get(`/v1/mailboxes/${id}/messages/1/raw`);
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.toString('utf8')).toBe(lf.replace(/\n/g, '\r\n'));
  });

  it('logs out of IMAP when a client hangs up mid-download', async () => {
    const email = user('hangup');
    const big = multipartMessage({ to: email, subject: 'big', text: 't', html: 'h', attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: randomBytes(8 * 1024 * 1024) }] });
    await sandbox.dovecot.deliver(email, big);
    const id = await mailbox(email);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    let hangUp = (): void => undefined;
    const received = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: `/v1/mailboxes/${id}/messages/1/raw`, headers: t.auth }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > 100_000 && !res.isPaused()) {
            res.pause(); // backpressure holds the download (and its IMAP session) where it is
            resolve(bytes);
          }
        });
        res.on('end', () => reject(new Error('the whole message arrived before the hang-up')));
      });
      hangUp = () => req.destroy();
      req.on('error', () => undefined);
      req.end();
    });
    expect(received).toBeLessThan(big.length);
    expect(await imapSessions(email)).toBe(1);
    hangUp();
    // The stream was cut short (not drained to its end), and the session logged out all the same.
    await waitUntil('the early end', () => t.logs.records().find((r) => r.msg === 'raw message download ended early' && r.mailboxId === id));
    await waitUntil('the IMAP session to end', async () => ((await imapSessions(email)) === 0 ? true : undefined), 10_000);
  });

  it('every kind of request leaves no IMAP session behind', async () => {
    const email = user('sessions');
    await sandbox.dovecot.deliver(email, rawMail(email, 'x'));
    const id = await mailbox(email);
    for (const path of ['messages', 'messages/1', 'messages/1/raw', 'messages/9', 'messages?folder=Nope', 'messages/9/raw']) {
      await get(`/v1/mailboxes/${id}/${path}`);
    }
    await waitUntil('no IMAP session', async () => ((await imapSessions(email)) === 0 ? true : undefined), 10_000);
  });
});

describe('size limits', () => {
  let small: TestApp;
  let smallConnection: string;
  beforeAll(async () => {
    small = await buildTestApp(sandbox.redis.url, { ...sandbox.serviceEnv(), MESSAGE_PARSE_MAX_BYTES: String(1024 * 1024), MESSAGE_RAW_MAX_BYTES: String(1536 * 1024) });
    smallConnection = await connection(small);
  });
  afterAll(async () => small?.close());

  it('a 2 MB attachment over MESSAGE_PARSE_MAX_BYTES → 413 message_too_large with the raw hint; over MESSAGE_RAW_MAX_BYTES → 413 too', async () => {
    const email = user('large');
    const raw = multipartMessage({ to: email, subject: 'large', text: 't', html: 'h', attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: randomBytes(2 * 1024 * 1024) }] });
    await sandbox.dovecot.deliver(email, raw);
    const id = await mailbox(email, small, smallConnection);
    const parsed = await get(`/v1/mailboxes/${id}/messages/1`, small);
    expect(parsed.statusCode, parsed.body).toBe(413);
    expect(parsed.json()).toMatchObject({ code: 'message_too_large', status: 413, size: raw.length, maxBytes: 1024 * 1024 });
    expect(parsed.json().hint).toContain(`/v1/mailboxes/${id}/messages/1/raw?folder=INBOX`);
    const rawRes = await get(`/v1/mailboxes/${id}/messages/1/raw`, small);
    expect(rawRes.statusCode, rawRes.body.slice(0, 300)).toBe(413);
    expect(rawRes.json()).toMatchObject({ code: 'message_too_large', maxBytes: 1536 * 1024 });
    expect(rawRes.json().hint).toContain('MESSAGE_RAW_MAX_BYTES');
    // The list is not limited by either.
    expect((await get(`/v1/mailboxes/${id}/messages`, small)).json().items[0].size).toBe(raw.length);
  });
});

describe('secrets', () => {
  it('no token in any response or log line, although imapflow logged at trace', async () => {
    const { accessToken } = await t.deps.services.tokens.appToken(connectionId);
    const everything = `${bodies.join('\n')}\n${t.logs.text()}`;
    expect(everything).not.toContain(accessToken);
    expect(everything).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]+/);
    expect(everything).not.toMatch(/auth=Bearer (?!\[REDACTED\])/);
    // XOAUTH2 payloads are base64 of "user=…": "dXNlcj0" starts every one of them.
    expect(everything).not.toContain('dXNlcj0');
    const records = t.logs.records();
    expect(records.some((r) => r.component === 'imap' && r.level === 10 && String(r.msg).includes('AUTHENTICATE'))).toBe(true);
  });
});
