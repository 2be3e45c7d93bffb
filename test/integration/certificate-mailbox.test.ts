/**
 * End to end with a certificate credential: an app-only connection that holds
 * a certificate (no secret) polls its mailbox, announces new mail by webhook
 * and sends, against the sandbox's identity platform, Dovecot and SMTP server.
 */
import { beforeAll, describe, expect, it } from 'vitest';
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

describe('a certificate connection', () => {
  it('polls its mailbox (new mail announced by webhook) and sends', async () => {
    const connection = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: {
        name: 'certificate', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
        certificate: { pem: certificate.certPem + certificate.keyPem }, authorityHost: sandbox.identity.url,
      },
    });
    expect(connection.statusCode, connection.body).toBe(201);
    const user = 'certificate-e2e@contoso.example';
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

    await sandbox.dovecot.deliver(user, rawMail(user, 'signed by a certificate'));
    const delivery = await waitUntil('the webhook', () => sandbox.receiver.received.find(
      (d) => d.type === 'message.received' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id,
    ));
    expect(delivery.verified).toBe(true);
    expect((delivery.body as { data: { subject: string } }).data.subject).toBe('signed by a certificate');

    const { message } = await sendAndWait(t, sandbox, { mailboxId: id, to: ['customer@example.org'], subject: 'sent with a certificate', text: 'hello' });
    expect(message.parsed.subject).toBe('sent with a certificate');
    // Every token came from a client assertion, none from a secret.
    const tokenPosts = sandbox.identity.requests.filter((r) => r.clientId === SANDBOX_APP_ONLY.clientId && r.grantType === 'client_credentials');
    expect(tokenPosts.length).toBeGreaterThan(0);
    expect(tokenPosts.every((r) => r.assertionHeader?.alg === 'PS256')).toBe(true);
  });
});
