/**
 * The sandbox's Exchange Online SMTP imitation, driven by the real nodemailer the
 * service uses, so the errors asserted here are the ones the service will see.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { startSmtp, type SandboxSmtp } from '../../sandbox/smtp.js';
import { mintAppToken, mintUserToken } from '../../sandbox/tokens.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const MAILBOX = 'support@contoso.test';

let pki: SandboxPki;
let smtp: SandboxSmtp;

beforeAll(async () => {
  pki = await loadOrCreatePki(await mkdtemp(join(tmpdir(), 'mailsync-pki-')));
  smtp = await startSmtp({ pki });
});

afterAll(async () => {
  await smtp?.stop();
  if (pki) await rm(pki.dir, { recursive: true, force: true });
});

beforeEach(() => smtp.reset());

function appToken(roles = ['SMTP.SendAsApp'], lifetimeSeconds?: number): Promise<string> {
  return mintAppToken(pki.signingKey, { tenantId: TENANT, clientId: CLIENT, roles, lifetimeSeconds });
}

function userToken(upn: string, scopes = ['SMTP.Send']): Promise<string> {
  return mintUserToken(pki.signingKey, { tenantId: TENANT, clientId: CLIENT, scopes, upn, oid: 'user-oid-1' });
}

/** Sends one message through a fresh nodemailer transport, as the service does. */
async function send(
  accessToken: string,
  mail: Partial<Mail.Options> = {},
  user = MAILBOX,
): Promise<SMTPTransport.SentMessageInfo> {
  const transport = createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: false,
    requireTLS: true,
    tls: { ca: [pki.caCertPem] },
    auth: { type: 'OAuth2', user, accessToken },
  });
  try {
    return await transport.sendMail({
      from: MAILBOX,
      to: 'customer@example.test',
      subject: 'Hello',
      text: 'Body text',
      ...mail,
    });
  } finally {
    transport.close();
  }
}

/** The error nodemailer throws, for asserting on its fields. */
async function sendError(accessToken: string, mail: Partial<Mail.Options> = {}, user = MAILBOX) {
  try {
    await send(accessToken, mail, user);
  } catch (err) {
    return err as Error & { code?: string; responseCode?: number; response?: string; command?: string; rejected?: string[] };
  }
  throw new Error('sendMail succeeded, expected a failure');
}

describe('sandbox SMTP (Exchange Online imitation)', () => {
  it('accepts an app token with SMTP.SendAsApp and records the message with its attachment and headers', async () => {
    const info = await send(await appToken(), {
      to: ['customer@example.test', 'other@example.test'],
      html: '<p>Body <b>html</b></p>',
      headers: { 'X-Ticket': '42' },
      attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 fake') }],
    });
    expect(info.accepted).toEqual(['customer@example.test', 'other@example.test']);
    expect(info.response).toMatch(/^250 2\.0\.0 OK <.+> \[Hostname=/);

    const [message] = await smtp.waitForMessages(1);
    expect(message!.envelope).toEqual({ from: MAILBOX, to: ['customer@example.test', 'other@example.test'] });
    expect(message!.authUser).toBe(MAILBOX);
    expect(message!.tokenClaims.roles).toEqual(['SMTP.SendAsApp']);
    expect(message!.tokenClaims.appid).toBe(CLIENT);
    const parsed = message!.parsed;
    expect(parsed.subject).toBe('Hello');
    expect(parsed.text?.trim()).toBe('Body text');
    expect(parsed.html).toContain('<b>html</b>');
    expect(parsed.headers.get('x-ticket')).toBe('42');
    expect(parsed.messageId).toBe(info.messageId);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]!.filename).toBe('report.pdf');
    expect(parsed.attachments[0]!.contentType).toBe('application/pdf');
    expect(parsed.attachments[0]!.content.toString()).toBe('%PDF-1.4 fake');
    expect(message!.raw.toString()).toContain('X-Ticket: 42');
    expect(smtp.authAttempts).toMatchObject([{ user: MAILBOX, ok: true }]);
  });

  it('accepts a user token with SMTP.Send for the same user (upn compared case-insensitively)', async () => {
    await send(await userToken('Support@Contoso.test'));
    const [message] = await smtp.waitForMessages(1);
    expect(message!.tokenClaims.scp).toBe('SMTP.Send');
  });

  it('refuses an app token without SMTP.SendAsApp with 535 5.7.3 (nodemailer: EAUTH)', async () => {
    const err = await sendError(await appToken(['IMAP.AccessAsApp']));
    expect(err.code).toBe('EAUTH');
    expect(err.responseCode).toBe(535);
    expect(err.response).toBe('535 5.7.3 Authentication unsuccessful');
    expect(err.command).toBe('AUTH XOAUTH2');
    expect(err.message).toBe('Invalid login: 535 5.7.3 Authentication unsuccessful');
    // One AUTH only: a 535 straight away (no 334 challenge), so nodemailer does not retry.
    expect(smtp.authAttempts).toMatchObject([
      { user: MAILBOX, ok: false, response: '535 5.7.3 Authentication unsuccessful', reason: expect.stringContaining('SMTP.SendAsApp') },
    ]);
    expect(smtp.messages).toHaveLength(0);
  });

  it('refuses a user token for another user, and one without SMTP.Send', async () => {
    let err = await sendError(await userToken('someone.else@contoso.test'));
    expect(err.code).toBe('EAUTH');
    expect(err.response).toBe('535 5.7.3 Authentication unsuccessful');
    err = await sendError(await userToken(MAILBOX, ['IMAP.AccessAsUser.All']));
    expect(err.response).toBe('535 5.7.3 Authentication unsuccessful');
  });

  it('refuses an expired token and a token signed by another key', async () => {
    let err = await sendError(await appToken(['SMTP.SendAsApp'], -60));
    expect(err.response).toBe('535 5.7.3 Authentication unsuccessful');
    expect(smtp.authAttempts[0]!.reason).toMatch(/exp/);

    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherKey = {
      kid: 'other',
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    const forged = await mintAppToken(otherKey, { tenantId: TENANT, clientId: CLIENT, roles: ['SMTP.SendAsApp'] });
    err = await sendError(forged);
    expect(err.code).toBe('EAUTH');
    expect(err.responseCode).toBe(535);
    expect(err.response).toBe('535 5.7.3 Authentication unsuccessful');
  });

  it("answers 'smtp_auth_disabled' with Exchange's exact 535 5.7.139 text", async () => {
    smtp.setBehaviour({ authFailure: 'smtp_auth_disabled' });
    const err = await sendError(await appToken());
    expect(err.code).toBe('EAUTH');
    expect(err.responseCode).toBe(535);
    expect(err.response).toBe(
      '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. ' +
        'Visit https://aka.ms/smtp_auth_disabled for more information.',
    );
    // null times: it keeps failing
    expect((await sendError(await appToken())).responseCode).toBe(535);
  });

  it("answers 'criteria_not_met' with the other 5.7.139 text", async () => {
    smtp.setBehaviour({ authFailure: 'criteria_not_met' });
    const err = await sendError(await appToken());
    expect(err.response).toBe(
      '535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully.',
    );
  });

  it('fails only the next N auths with authFailureTimes', async () => {
    smtp.setBehaviour({ authFailure: 'auth_unsuccessful', authFailureTimes: 1 });
    const err = await sendError(await appToken());
    expect(err.response).toBe('535 5.7.3 Authentication unsuccessful');
    await send(await appToken());
    expect(smtp.authAttempts.map((a) => a.ok)).toEqual([false, true]);
    expect(smtp.getBehaviour().authFailure).toBeNull();
  });

  it('throttles at MAIL FROM with 421 4.7.0 and closes the connection, then recovers', async () => {
    smtp.setBehaviour({ throttle: { times: 1 } });
    const err = await sendError(await appToken());
    expect(err.responseCode).toBe(421);
    expect(err.response).toBe('421 4.7.0 Temporary server error. Please try again later. PRX4');
    expect(err.code).toBe('EENVELOPE');
    await send(await appToken());
    expect(smtp.messages).toHaveLength(1);
  });

  it('throttles in place of the greeting with at: connect', async () => {
    smtp.setBehaviour({ throttle: { times: 1, at: 'connect' } });
    const err = await sendError(await appToken());
    expect(err.responseCode).toBe(421);
    expect(err.response).toBe('421 4.7.0 Temporary server error. Please try again later. PRX4');
    expect(smtp.authAttempts).toHaveLength(0);
    await send(await appToken());
  });

  it('rejects recipients with 550 5.1.10 or 452 4.5.3; nodemailer reports them and sends to the rest', async () => {
    smtp.setBehaviour({ rejectRecipients: { 'Missing@Example.test': 550, 'busy@example.test': 452 } });
    const info = await send(await appToken(), { to: ['customer@example.test', 'missing@example.test', 'busy@example.test'] });
    expect(info.accepted).toEqual(['customer@example.test']);
    expect(info.rejected).toEqual(['missing@example.test', 'busy@example.test']);
    const errors = (info as unknown as { rejectedErrors: { recipient: string; responseCode: number; response: string }[] })
      .rejectedErrors;
    expect(errors.map((e) => [e.recipient, e.responseCode, e.response])).toEqual([
      [
        'missing@example.test',
        550,
        '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient missing@example.test not found by SMTP address lookup',
      ],
      ['busy@example.test', 452, '452 4.5.3 Too many recipients'],
    ]);
    const [message] = await smtp.waitForMessages(1);
    expect(message!.envelope.to).toEqual(['customer@example.test']);
  });

  it('fails the whole send when every recipient is rejected', async () => {
    smtp.setBehaviour({ rejectRecipients: { 'missing@example.test': 550 } });
    const err = await sendError(await appToken(), { to: 'missing@example.test' });
    expect(err.code).toBe('EENVELOPE');
    expect(err.responseCode).toBe(550);
    expect(err.rejected).toEqual(['missing@example.test']);
  });

  it('refuses another sender with 550 5.7.60 unless allowed', async () => {
    const err = await sendError(await appToken(), { from: 'ceo@contoso.test' });
    expect(err.code).toBe('EENVELOPE');
    expect(err.response).toBe('550 5.7.60 SMTP; Client does not have permissions to send as this sender');
    smtp.setBehaviour({ allowedSenders: ['ceo@contoso.test'] });
    await send(await appToken(), { from: 'ceo@contoso.test' });
  });

  it('refuses an oversize message with 552 and advertises the limit', async () => {
    smtp.setBehaviour({ maxMessageBytes: 10_000 });
    const err = await sendError(await appToken(), { text: 'x'.repeat(20_000) });
    expect(err.code).toBe('EMESSAGE');
    expect(err.responseCode).toBe(552);
    expect(err.response).toBe('552 5.3.4 Message size exceeds fixed maximum message size');
    expect(smtp.messages).toHaveLength(0);
    // under the limit it goes through
    await send(await appToken(), { text: 'small' });
  });

  it('fails DATA on demand with the given reply', async () => {
    smtp.setBehaviour({
      dataFailure: { code: 554, message: '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException', times: 1 },
    });
    const err = await sendError(await appToken());
    expect(err.code).toBe('EMESSAGE');
    expect(err.responseCode).toBe(554);
    expect(err.response).toBe('554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException');
    await send(await appToken());
    expect(smtp.messages).toHaveLength(1);
  });
});
