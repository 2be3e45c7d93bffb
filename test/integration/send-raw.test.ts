/**
 * `raw` end to end (issue 17): a signed message built by the client goes
 * through POST /v1/send, the worker and SMTP to the sandbox server as given:
 * the body byte for byte, Bcc fields taken out but their addresses in the
 * envelope, X-Mailsync-Send-Id, Message-ID and Date added; the request's own
 * recipients, when given, are the envelope instead.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { appOnlyMailbox, sendAndWait } from '../support/send-helpers.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false' }), () => sandbox.redis);
let mailboxId: string;
const email = 'raw-sender@contoso.example';

beforeAll(async () => {
  await t.deps.jobs.startAll();
  mailboxId = await appOnlyMailbox(t, sandbox, email);
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

const sent = (payload: Record<string, unknown>) => sendAndWait(t, sandbox, { mailboxId, ...payload });

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
