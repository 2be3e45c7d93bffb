/**
 * `raw` end to end (issue 17): a signed message built by the client goes
 * through POST /v1/send, the worker and SMTP to the sandbox server as given:
 * the body byte for byte, Bcc fields taken out but their addresses in the
 * envelope, X-Mailsync-Send-Id, Message-ID and Date added; the request's own
 * recipients, when given, are the envelope instead.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false' }), () => sandbox.redis);
let mailboxId: string;
const email = 'raw-sender@contoso.example';

beforeAll(async () => {
  await t.deps.jobs.startAll();
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'raw', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  const mailbox = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: connection.json().id, email, pollIntervalSeconds: 86_400, ...sandbox.mailServers() },
  });
  expect(mailbox.statusCode, mailbox.body).toBe(201);
  mailboxId = mailbox.json().id;
});

const BODY = [
  '--sig',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Grüße, signed.',
  '--sig',
  'Content-Type: application/pkcs7-signature; name=smime.p7s',
  'Content-Transfer-Encoding: base64',
  '',
  'MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIIB',
  '--sig--',
  '',
].join('\r\n');
const RAW = [
  `From: Agent <${email}>`,
  'To: "Doe, Jane" <jane@example.org>',
  'Bcc: audit@example.org',
  'Subject: Signed reply',
  'MIME-Version: 1.0',
  'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="sig"',
  '',
  BODY,
].join('\r\n');

async function sent(payload: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId, ...payload } });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().id as string;
  const view = await waitUntil('sent', async () => {
    const v = (await t.app.inject({ method: 'GET', url: `/v1/send/${id}`, headers: t.auth })).json();
    return v.status === 'sent' || v.status === 'failed' ? v : undefined;
  });
  expect(view.status, JSON.stringify(view.error)).toBe('sent');
  return { id, view, message: sandbox.smtp.messages.find((m) => m.parsed.messageId === view.messageId)! };
}

describe('raw messages', () => {
  it('sends the message as given, Bcc in the envelope only', async () => {
    const { id, view, message } = await sent({ raw: Buffer.from(RAW, 'utf8').toString('base64') });
    expect(view.messageId).toMatch(new RegExp(`^<${id}\\.`));
    expect(message.envelope.to.sort()).toEqual(['audit@example.org', 'jane@example.org']);
    const raw = message.raw.toString('utf8');
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
    expect(head).not.toMatch(/^Bcc:/im);
    expect(head).toContain(`X-Mailsync-Send-Id: ${id}`);
    expect(head).toContain(`Message-ID: ${view.messageId}`);
    expect(head).toMatch(/^Date: /m);
    expect(raw.slice(raw.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '')).toBe(BODY.replace(/\r\n$/, ''));
    expect(message.authUser).toBe(email);
  });

  it('keeps its own Message-ID, and takes the request\'s recipients as the envelope when given', async () => {
    const own = `Message-ID: <own-1@contoso.example>\r\n${RAW}`;
    const { message, view } = await sent({ raw: Buffer.from(own, 'utf8').toString('base64'), to: ['only@example.org'] });
    expect(view.messageId).toBe('<own-1@contoso.example>');
    expect(message.envelope.to).toEqual(['only@example.org']);
  });

  it('refuses raw combined with the structured fields, with a pointer', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId, raw: Buffer.from(RAW).toString('base64'), subject: 'x' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([expect.objectContaining({ field: '/body/raw', message: expect.stringMatching(/without subject/) })]);
  });
});
