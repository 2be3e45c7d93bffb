/**
 * Content in webhooks (a subscription's `include`) end to end: the sandbox Dovecot behind the IMAP
 * proxy (which counts the FETCHes of message sources), the real poll and webhook pipeline, real
 * Redis, and receivers that verify every signature.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import { startWebhookReceiver, type ReceivedDelivery, type WebhookReceiver } from '../../sandbox/webhook-receiver.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** MESSAGE_PARSE_MAX_BYTES here: small enough for a test message to exceed it. */
const PARSE_MAX = 2 * MiB;

const proxies: ImapProxy[] = [];
const receivers: WebhookReceiver[] = [];

const sandbox = useSandbox();
// Registered before the app: undone after it closes.
afterAll(async () => {
  for (const p of proxies) await p.stop();
  for (const r of receivers) await r.close();
});
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', MESSAGE_PARSE_MAX_BYTES: String(PARSE_MAX) }), () => sandbox.redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
});

function api(method: 'GET' | 'POST', url: string, payload?: object) {
  return payload === undefined ? t.app.inject({ method, url, headers: t.auth }) : t.app.inject({ method, url, headers: t.auth, payload });
}

/** A mailbox polled every second through its own IMAP proxy, its baseline taken. */
async function proxiedMailbox(user: string): Promise<{ id: string; proxy: ImapProxy }> {
  const proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
  proxies.push(proxy);
  const connection = await api('POST', '/v1/connections', {
    name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
    clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
  });
  expect(connection.statusCode, connection.body).toBe(201);
  const created = await api('POST', '/v1/mailboxes', {
    connectionId: connection.json().id, email: user, pollIntervalSeconds: 1,
    ...sandbox.mailServers(), imap: { host: '127.0.0.1', port: proxy.port, secure: true },
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as string;
  await waitUntil('the baseline', async () => ((await api('GET', `/v1/mailboxes/${id}`)).json().lastPollAt ? true : undefined));
  return { id, proxy };
}

/** A receiver (bodies up to 4 MiB) subscribed to this mailbox's message.received. */
async function subscriber(mailboxId: string, include?: string[]): Promise<{ r: WebhookReceiver; secret: string; id: string }> {
  const r = await startWebhookReceiver({ maxBodyBytes: 4 * MiB });
  receivers.push(r);
  const res = await api('POST', '/v1/webhooks', {
    url: `${r.url}/hooks`, events: ['message.received'], mailboxIds: [mailboxId], ...(include ? { include } : {}),
  });
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json().include).toEqual(include ?? []);
  r.setSecrets([res.json().secret]);
  return { r, secret: res.json().secret, id: res.json().id };
}

type Data = Record<string, unknown>;
const dataOf = (d: ReceivedDelivery): Data => (d.body as { data: Data }).data;
const bySubject = (r: WebhookReceiver, subject: string) => r.waitFor((d) => dataOf(d).subject === subject, 20_000);

const ENVELOPE_KEYS = ['mailboxId', 'email', 'folder', 'uidValidity', 'uid', 'messageId', 'subject', 'from', 'to', 'cc', 'date', 'size'];

/** A text/plain + text/html message with exact UTF-8 bodies (base64, so no line is rewrapped). */
function alternativeMail(to: string, subject: string, text: string, html: string, extraHeaders: string[] = []): Buffer {
  const b64 = (s: string) => (Buffer.from(s, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  return Buffer.from([
    'From: Customer <customer@example.org>',
    `To: ${to}`,
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@example.org>`,
    'Date: Tue, 03 Jun 2025 10:00:00 +0000',
    ...extraHeaders,
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64(text),
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64(html),
    '--b1--',
    '',
  ].join('\r\n'));
}

describe('include', () => {
  it('gives each subscription only what it asked for; one without include gets exactly the envelope body it got before', async () => {
    const user = 'content-two-subs@contoso.example';
    const { id } = await proxiedMailbox(user);
    const rich = await subscriber(id, ['html', 'text']);
    const plain = await subscriber(id);
    await sandbox.dovecot.deliver(user, alternativeMail(user, 'two subs', 'Hello in text ✓', '<p>Hello in <b>HTML</b></p>', ['X-Ticket: 42']));

    const got = await bySubject(rich.r, 'two subs');
    const bare = await bySubject(plain.r, 'two subs');
    for (const [d, secret] of [[got, rich.secret], [bare, plain.secret]] as const) {
      expect(d.verified).toBe(true);
      expect(new Webhook(secret).verify(d.rawBody.toString('utf8'), d.headers)).toEqual(d.body);
    }
    // The same event: the same webhook-id for both.
    expect(got.id).toBe(bare.id);
    const data = dataOf(got);
    expect(data.text).toMatch(/^Hello in text ✓/);
    expect(data.textTruncated).toBe(false);
    expect(data.html).toBe('<p>Hello in <b>HTML</b></p>');
    expect(data.htmlTruncated).toBe(false);
    // Only what it asked for: no headers, no attachments.
    expect(Object.keys(data)).toEqual([...ENVELOPE_KEYS, 'text', 'textTruncated', 'html', 'htmlTruncated']);

    // The other delivery is the envelope body, byte for byte: the content-carrying one without its content.
    expect(Object.keys(dataOf(bare))).toEqual(ENVELOPE_KEYS);
    const { text: _t, textTruncated: _tt, html: _h, htmlTruncated: _ht, ...envelope } = data;
    const body = got.body as { type: string; timestamp: string };
    expect(bare.rawBody.toString('utf8')).toBe(JSON.stringify({ type: body.type, timestamp: body.timestamp, data: envelope }));
  });

  it('fetches and parses a message once for three subscriptions, and frees its stored content when they are delivered', async () => {
    const user = 'content-three-subs@contoso.example';
    const { id, proxy } = await proxiedMailbox(user);
    const subs = [
      await subscriber(id, ['text', 'html', 'headers', 'attachments']),
      await subscriber(id, ['headers']),
      await subscriber(id, ['attachments', 'text']),
    ];
    const before = proxy.bodyFetches;
    const attachment = Buffer.from('%PDF-1.4 not really').toString('base64');
    const withAttachment = Buffer.from([
      'From: Customer <customer@example.org>', `To: ${user}`, 'Subject: three subs 1', 'Message-ID: <ts1@example.org>',
      'Date: Tue, 03 Jun 2025 10:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="m"', '',
      '--m', 'Content-Type: text/plain; charset=utf-8', '', 'See the invoice.', '',
      '--m', 'Content-Type: application/pdf; name="invoice.pdf"', 'Content-Disposition: attachment; filename="invoice.pdf"',
      'Content-Transfer-Encoding: base64', '', attachment, '--m--', '',
    ].join('\r\n'));
    await sandbox.dovecot.deliver(user, withAttachment);
    await sandbox.dovecot.deliver(user, rawMail(user, 'three subs 2'));

    const [all, headersOnly, mixed] = await Promise.all(subs.map((s) => bySubject(s.r, 'three subs 1')));
    await Promise.all(subs.map((s) => bySubject(s.r, 'three subs 2')));
    // Two messages, three subscriptions that want content: two downloads (each message fits one partial FETCH).
    expect(proxy.bodyFetches - before).toBe(2);

    const a = dataOf(all!);
    expect(a.text).toMatch(/^See the invoice\./);
    expect(a.headers).toEqual(expect.arrayContaining([{ name: 'Subject', value: 'three subs 1' }, { name: 'Message-ID', value: '<ts1@example.org>' }]));
    expect(a.headersTruncated).toBe(false);
    expect(a.attachments).toEqual([expect.objectContaining({ filename: 'invoice.pdf', contentType: 'application/pdf', size: 19, disposition: 'attachment' })]);
    expect(a.attachmentsTruncated).toBe(false);
    expect(Object.keys(dataOf(headersOnly!))).toEqual([...ENVELOPE_KEYS, 'headers', 'headersTruncated']);
    // Parts come in one order whatever the order asked for.
    expect(Object.keys(dataOf(mixed!))).toEqual([...ENVELOPE_KEYS, 'text', 'textTruncated', 'attachments', 'attachmentsTruncated']);
    expect(dataOf(mixed!).attachments).toEqual(a.attachments);

    // Stored once for the event (every delivery names the one key), and gone once its last delivery ended.
    const key = t.deps.keys.webhookDelivery.content(all!.id!);
    const deliveryOf = async (subscriptionId: string) => {
      const items = (await api('GET', `/v1/webhooks/${subscriptionId}/deliveries`)).json().items as { deliveryId: string; eventId: string; status: string }[];
      return items.find((i) => i.eventId === all!.id && i.status === 'delivered');
    };
    for (const sub of subs) {
      const delivery = await waitUntil('the delivery recorded', () => deliveryOf(sub.id));
      expect(await t.deps.redis.hget(t.deps.keys.webhookDelivery.record(delivery.deliveryId), 'content')).toBe(key);
    }
    await waitUntil('the content freed', async () => ((await t.deps.redis.exists(key)) === 0 ? true : undefined));

    // Sent again by hand once the content is gone: the envelope, and why the content is missing.
    const first = (await deliveryOf(subs[1]!.id))!;
    subs[1]!.r.reset();
    expect((await api('POST', `/v1/webhooks/${subs[1]!.id}/deliveries/${first.deliveryId}/retry`)).statusCode).toBe(202);
    const again = await bySubject(subs[1]!.r, 'three subs 1');
    expect(again.id).toBe(all!.id);
    expect(again.verified).toBe(true);
    expect(Object.keys(dataOf(again))).toEqual([...ENVELOPE_KEYS, 'contentOmitted']);
    expect(dataOf(again).contentOmitted).toBe('expired');
  });

  it('cuts text and HTML at 256 KiB of UTF-8 without splitting a character', async () => {
    const user = 'content-truncated@contoso.example';
    const { id } = await proxiedMailbox(user);
    const { r } = await subscriber(id, ['text', 'html']);
    // '€' is 3 bytes, at bytes 262 143 to 262 145: the cut at 262 144 falls inside it.
    const text = `${'a'.repeat(256 * KiB - 1)}€${'b'.repeat(40 * KiB)}`;
    const html = `<p>${'é'.repeat(150 * KiB)}</p>`;
    await sandbox.dovecot.deliver(user, alternativeMail(user, 'long bodies', text, html));
    const d = await bySubject(r, 'long bodies');
    expect(d.verified).toBe(true);
    const data = dataOf(d);
    expect(data.textTruncated).toBe(true);
    expect(data.text).toBe('a'.repeat(256 * KiB - 1));
    expect(data.htmlTruncated).toBe(true);
    // 'é' is 2 bytes: 3 bytes of '<p>' then 131 070 whole characters fit in 262 144 bytes.
    expect(data.html).toBe(`<p>${'é'.repeat(131_070)}`);
    expect(Buffer.byteLength(data.html as string)).toBe(256 * KiB - 1);
  });

  it('announces a message larger than the parse limit without content, and without downloading it', async () => {
    const user = 'content-too-large@contoso.example';
    const { id, proxy } = await proxiedMailbox(user);
    const { r } = await subscriber(id, ['text']);
    const before = proxy.bodyFetches;
    const big = rawMail(user, 'too large') + `${'y'.repeat(76)}\r\n`.repeat(Math.ceil((PARSE_MAX + 100 * KiB) / 78));
    await sandbox.dovecot.deliver(user, big);
    await sandbox.dovecot.deliver(user, rawMail(user, 'after the large one'));
    const d = await bySubject(r, 'too large');
    expect(d.verified).toBe(true);
    expect(dataOf(d).size).toBeGreaterThan(PARSE_MAX);
    expect(Object.keys(dataOf(d))).toEqual([...ENVELOPE_KEYS, 'contentOmitted']);
    expect(dataOf(d).contentOmitted).toBe('too_large');
    expect(dataOf(await bySubject(r, 'after the large one')).text).toMatch(/^Hello, this is after the large one\./);
    expect(proxy.bodyFetches - before).toBe(1);
  });

  it('announces malformed MIME: what the parser refuses without content, what it copes with with what it read', async () => {
    const user = 'content-malformed@contoso.example';
    const { id } = await proxiedMailbox(user);
    const { r } = await subscriber(id, ['text', 'headers']);
    // A header block over 1 MiB: mailparser refuses it (the envelope itself stays small).
    const hugeHeader = `From: Customer <customer@example.org>\r\nTo: ${user}\r\nSubject: refused\r\nX-Junk: ${'h'.repeat(1_100_000)}\r\n\r\nbody\r\n`;
    // A multipart that never closes, with broken base64 and a bad charset.
    const broken = [
      'From: Customer <customer@example.org>', `To: ${user}`, 'Subject: broken parts', 'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="never"', '', '--never', 'Content-Type: text/plain; charset=x-nonsense',
      'Content-Transfer-Encoding: base64', '', '!!!not base64 at all@@@', '--nev', 'Content-Type: text/html', '',
    ].join('\r\n');
    await sandbox.dovecot.deliver(user, hugeHeader);
    await sandbox.dovecot.deliver(user, broken);
    await sandbox.dovecot.deliver(user, rawMail(user, 'fine after'));

    const refused = await bySubject(r, 'refused');
    expect(dataOf(refused).contentOmitted).toBe('unparseable');
    expect(dataOf(refused)).not.toHaveProperty('text');
    const coped = dataOf(await bySubject(r, 'broken parts'));
    expect(coped).not.toHaveProperty('contentOmitted');
    expect(coped.headers).toEqual(expect.arrayContaining([{ name: 'Subject', value: 'broken parts' }]));
    expect(dataOf(await bySubject(r, 'fine after')).text).toMatch(/^Hello, this is fine after\./);
  });
});
