/**
 * A delegated shared mailbox end to end (issue 18): the agent named in `signInAs` signs in
 * through the real sign-in (MSAL against the identity sandbox), and the service opens the
 * shared mailbox (`email`) over IMAP and sends from it over SMTP with the agent's token, as
 * Exchange allows an agent with Full Access. Without Full Access the mailbox ends in
 * `shared_mailbox_access_denied` with its hint; another account signing in is `wrong_account`.
 * IMAP goes through the sandbox's shared-access front (imap-proxy.ts) before Dovecot.
 */
import type { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_DELEGATED, SANDBOX_TENANT, SANDBOX_USERS } from '../../sandbox/index.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import { freePort } from '../../sandbox/ports.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail } from '../support/mail.js';
import { finishedSend } from '../support/send-helpers.js';
import { browserAgent, signInThrough } from '../support/oauth-browser.js';

const SHARED = 'helpdesk@contoso.example';
const AGENT = SANDBOX_USERS.alice;

let publicUrl: string;
let agent: Agent;
let front: ImapProxy;
beforeAll(async () => {
  publicUrl = `http://127.0.0.1:${await freePort()}`;
});
const sandbox = useSandbox(() => ({ publicUrl }));
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), PUBLIC_URL: publicUrl, POLL_IDLE: 'false' }), () => sandbox.redis);
beforeAll(async () => {
  agent = browserAgent(sandbox.pki.caCertPem);
  front = await startImapProxy({
    pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort }, sharedAccess: { key: sandbox.pki.signingKey, permissions: sandbox.permissions },
  });
  await t.deps.jobs.startAll();
});
afterAll(async () => {
  await agent?.close();
  await front?.stop();
});
beforeEach(() => sandbox.identity.signInAs(null));

/** A delegated mailbox for the shared address, worked by `signInAs`, its IMAP through the front. */
async function sharedMailbox(signInAs: string = AGENT): Promise<{ id: string; authorizeUrl: string }> {
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'helpdesk', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  const servers = sandbox.mailServers();
  const mailbox = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: connection.json().id, email: SHARED, signInAs, pollIntervalSeconds: 86_400, imap: { host: '127.0.0.1', port: front.port, secure: true }, smtp: servers.smtp },
  });
  expect(mailbox.statusCode, mailbox.body).toBe(201);
  expect(mailbox.json()).toMatchObject({ email: SHARED, signInAs });
  return { id: mailbox.json().id, authorizeUrl: mailbox.json().authorizeUrl };
}

const view = async (id: string) => (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json();

describe('a shared mailbox worked by an agent', () => {
  it('the agent signs in; the shared mailbox is read and sends as itself with the agent\'s token', async () => {
    sandbox.permissions.setFullAccess(SHARED, AGENT, true);
    const { id, authorizeUrl } = await sharedMailbox();
    sandbox.identity.signInAs(AGENT);
    const { res } = await signInThrough(t, agent, authorizeUrl);
    expect(res.statusCode, res.body).toBe(200);
    expect((await view(id)).state).not.toBe('pending_authorization');

    await sandbox.dovecot.deliver(SHARED, rawMail(SHARED, 'Ticket for the helpdesk'));
    const listed = await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}/messages?folder=INBOX`, headers: t.auth });
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().items.map((m: { subject: string }) => m.subject)).toContain('Ticket for the helpdesk');

    const sent = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId: id, to: ['customer@example.org'], subject: 'Re: your ticket', text: 'On it.' } });
    expect(sent.statusCode, sent.body).toBe(202);
    const done = await finishedSend(t, sent.json().id as string, 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('sent');
    const message = sandbox.smtp.messages.find((m) => m.parsed.messageId === done.messageId)!;
    expect(message.authUser).toBe(SHARED);
    expect(message.envelope.from).toBe(SHARED);
    expect(JSON.stringify(message.tokenClaims)).toContain(AGENT);
  });

  it('without Full Access the shared mailbox is refused with its own code, hint and setup step', async () => {
    const other = 'accounts@contoso.example';
    sandbox.permissions.setFullAccess(other, AGENT, false);
    const connection = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'accounts', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url },
    });
    const mailbox = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: { connectionId: connection.json().id, email: other, signInAs: AGENT, pollIntervalSeconds: 86_400, imap: { host: '127.0.0.1', port: front.port, secure: true }, smtp: sandbox.mailServers().smtp },
    });
    expect(mailbox.statusCode, mailbox.body).toBe(201);
    sandbox.identity.signInAs(AGENT);
    await signInThrough(t, agent, mailbox.json().authorizeUrl);
    await sandbox.dovecot.deliver(other, rawMail(other, 'Invoice'));
    const listed = await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${mailbox.json().id}/messages?folder=INBOX`, headers: t.auth });
    expect(listed.statusCode, listed.body).toBe(422);
    expect(listed.json()).toMatchObject({ code: 'shared_mailbox_access_denied', setupStep: 'mailbox_permission' });
    expect(listed.json().hint).toMatch(/Add-MailboxPermission -Identity accounts@contoso\.example -User alice@contoso\.example -AccessRights FullAccess/);
  });

  it('another account than signInAs signing in is wrong_account, and the mailbox still waits for the agent', async () => {
    const { id, authorizeUrl } = await sharedMailbox();
    sandbox.identity.signInAs(SANDBOX_USERS.support);
    const { res } = await signInThrough(t, agent, authorizeUrl);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('wrong_account');
    expect((await view(id)).state).toBe('pending_authorization');
  });
});
