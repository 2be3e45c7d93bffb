/**
 * The foundation end to end: the service's MSAL gets an app-only token from
 * the identity imitation; imapflow logs in to the sandbox Dovecot with it over
 * XOAUTH2 and reads a delivered mail; nodemailer sends through the sandbox
 * SMTP server with it, and the server verifies the token.
 */
import { ImapFlow } from 'imapflow';
import { createTransport } from 'nodemailer';
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, SANDBOX_USERS } from '../../sandbox/index.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';

let connectionId: string;

const sandbox = useSandbox();
const t = useTestApp(() => sandbox.serviceEnv(), () => sandbox.redis);
beforeAll(async () => {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: {
      name: 'Contoso (sandbox)', flow: 'app_only', tenantId: SANDBOX_TENANT.id,
      clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().id;
});

describe('a token from the imitation opens the sandbox mail servers', () => {
  it('verifies the connection', async () => {
    const res = await t.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/verify`, headers: t.auth });
    expect(res.json()).toMatchObject({ ok: true, roles: expect.arrayContaining(['IMAP.AccessAsApp', 'SMTP.SendAsApp']) });
  });

  it('logs in to Dovecot over XOAUTH2 and reads a delivered message', async () => {
    await sandbox.dovecot.deliver(SANDBOX_USERS.support, 'From: a@x.example\r\nTo: support@contoso.example\r\nSubject: Hello sandbox\r\nMessage-ID: <1@x.example>\r\n\r\nHi!\r\n');
    const { accessToken } = await t.deps.services.tokens.appToken(connectionId);
    const { imap } = sandbox.mailServers();
    const client = new ImapFlow({ ...imap, auth: { user: SANDBOX_USERS.support, accessToken }, tls: { ca: [sandbox.pki.caCertPem] }, logger: false });
    await client.connect();
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const message = await client.fetchOne('*', { envelope: true });
        expect(message && message.envelope?.subject).toBe('Hello sandbox');
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
  });

  it('refuses IMAP without a valid token', async () => {
    const { imap } = sandbox.mailServers();
    const client = new ImapFlow({ ...imap, auth: { user: SANDBOX_USERS.support, accessToken: 'not-a-token' }, tls: { ca: [sandbox.pki.caCertPem] }, logger: false });
    await expect(client.connect()).rejects.toMatchObject({ authenticationFailed: true });
  });

  it('sends through the SMTP server, which verifies the token', async () => {
    const { accessToken } = await t.deps.services.tokens.appToken(connectionId);
    const { smtp } = sandbox.mailServers();
    const transport = createTransport({
      ...smtp, requireTLS: true, tls: { ca: [sandbox.pki.caCertPem] },
      auth: { type: 'OAuth2', user: SANDBOX_USERS.support, accessToken },
    });
    const info = await transport.sendMail({ from: SANDBOX_USERS.support, to: 'customer@example.org', subject: 'Re: Hello', text: 'Thanks!' });
    expect(info.accepted).toEqual(['customer@example.org']);
    const [message] = await sandbox.smtp.waitForMessages(1);
    expect(message!.parsed.subject).toBe('Re: Hello');
    expect(message!.authUser).toBe(SANDBOX_USERS.support);
    expect(message!.tokenClaims.roles).toContain('SMTP.SendAsApp');
    transport.close();
  });
});
