/**
 * End to end with a certificate credential, and with a federated one (workload
 * identity: a token file the platform replaces): an app-only connection that
 * holds no secret polls its mailbox, announces new mail by webhook and sends,
 * against the sandbox's identity platform, Dovecot and SMTP server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { createTestCertificate } from '../../sandbox/x509.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';
import { sendAndWait } from '../support/send-helpers.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50' }), () => sandbox.redis);
const certificate = createTestCertificate({ commonName: 'mailsync e2e' });

beforeAll(async () => {
  await t.deps.jobs.startAll();
  sandbox.identity.updateApp(SANDBOX_APP_ONLY.clientId, { certificates: [{ pem: certificate.certPem }] });
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
});

const ISSUER = 'https://oidc.aks.example/00000000-1111-2222-3333-444444444444/';
const SUBJECT = 'system:serviceaccount:mail:mailsync';
/** An app of its own for workload identity: app-only tokens are cached per (authority, app), and each test counts its own. */
const FEDERATED_APP = '0a1b2c3d-0000-4000-8000-0000000000fe';
let dir: string;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A connection with `credential`, its mailbox polled, a mail announced and a message sent; answers the mailbox's id. */
async function pollsAndSends(clientId: string, credential: Record<string, unknown>, user: string, subject: string): Promise<string> {
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: subject, flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId, authorityHost: sandbox.identity.url, ...credential },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  const mailbox = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: connection.json().id, email: user, pollIntervalSeconds: 1, ...sandbox.mailServers() },
  });
  expect(mailbox.statusCode, mailbox.body).toBe(201);
  const id = mailbox.json().id as string;
  await waitUntil('the baseline poll', async () => {
    const view = (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json();
    return view.lastPollAt ? view : undefined;
  });
  await sandbox.dovecot.deliver(user, rawMail(user, subject));
  const delivery = await waitUntil('the webhook', () => sandbox.receiver.received.find(
    (d) => d.type === 'message.received' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id,
  ));
  expect(delivery.verified).toBe(true);
  expect((delivery.body as { data: { subject: string } }).data.subject).toBe(subject);
  const { message } = await sendAndWait(t, sandbox, { mailboxId: id, to: ['customer@example.org'], subject: `re: ${subject}`, text: 'hello' });
  expect(message.parsed.subject).toBe(`re: ${subject}`);
  return id;
}

describe('a federated connection (workload identity)', () => {
  it('polls and sends with the token the platform keeps in its file, read for each token request', async () => {
    const issuer = sandbox.identity.addFederatedIssuer(ISSUER);
    sandbox.identity.addApp({
      clientId: FEDERATED_APP, homeTenantId: SANDBOX_TENANT.id, secrets: [], federatedCredentials: [{ issuer: ISSUER, subject: SUBJECT }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'],
    });
    dir = await mkdtemp(join(tmpdir(), 'mailsync-federated-'));
    const tokenFile = join(dir, 'azure-identity-token');
    await writeFile(tokenFile, await issuer.mint({ subject: SUBJECT }));
    const before = sandbox.identity.requests.length;
    await pollsAndSends(FEDERATED_APP, { federated: { tokenFile } }, 'federated-e2e@contoso.example', 'sent with workload identity');
    const tokenPosts = sandbox.identity.requests.slice(before).filter((r) => r.clientId === FEDERATED_APP && r.grantType === 'client_credentials');
    expect(tokenPosts.length).toBeGreaterThan(0);
    expect(tokenPosts.every((r) => r.assertionHeader !== undefined)).toBe(true);
  });
});

describe('a certificate connection', () => {
  it('polls its mailbox (new mail announced by webhook) and sends', async () => {
    const before = sandbox.identity.requests.length;
    await pollsAndSends(SANDBOX_APP_ONLY.clientId, { certificate: { pem: certificate.certPem + certificate.keyPem } }, 'certificate-e2e@contoso.example', 'signed by a certificate');
    // Every token came from a client assertion signed with the certificate, none from a secret.
    const tokenPosts = sandbox.identity.requests.slice(before).filter((r) => r.clientId === SANDBOX_APP_ONLY.clientId && r.grantType === 'client_credentials');
    expect(tokenPosts.length).toBeGreaterThan(0);
    expect(tokenPosts.every((r) => r.assertionHeader?.alg === 'PS256')).toBe(true);
  });
});
