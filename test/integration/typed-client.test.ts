/**
 * The typed client (clients/typescript, issue 20) against the real service listening on a port,
 * with the sandbox's identity platform, Dovecot and SMTP server: typed results and typed problems
 * over HTTP, and the README's example, a webhook receiver that replies through the client, run
 * end to end on a real delivery; verifyWebhook() on a delivery the service signed.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMailsyncClient, MailsyncApiError, unwrap, verifyWebhook, type MailsyncClient } from '@mailsync/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReplyBot } from '../../clients/typescript/examples/reply-bot.js';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { TEST_API_KEY } from '../support/app.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
let botServer: Server | undefined;
// Registered before the app: closed after it.
afterAll(async () => {
  await new Promise<void>((resolve) => (botServer ? botServer.close(() => resolve()) : resolve()));
});
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false' }), () => sandbox.redis);

const email = 'client-desk@contoso.example';
let baseUrl: string;
let client: MailsyncClient;
let mailboxId: string;

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  await t.deps.jobs.startAll();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  client = createMailsyncClient({ baseUrl, apiKey: TEST_API_KEY });
});

describe('the typed client over HTTP', () => {
  it('creates a connection and a mailbox and lists them, with typed results', async () => {
    const connection = await unwrap(client.POST('/v1/connections', {
      body: {
        name: 'Contoso desk', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
        clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
      },
    }));
    expect(connection.clientSecretHint).toBe(SANDBOX_APP_ONLY.secret.slice(-4));
    expect(JSON.stringify(connection)).not.toContain(SANDBOX_APP_ONLY.secret);

    const { data: mailbox, error, response } = await client.POST('/v1/mailboxes', {
      body: { connectionId: connection.id, email, pollIntervalSeconds: 1, ...sandbox.mailServers() },
    });
    expect(error, JSON.stringify(error)).toBeUndefined();
    expect(response.status).toBe(201);
    expect(mailbox?.state).toBe('active');
    mailboxId = mailbox!.id;

    const page = await unwrap(client.GET('/v1/mailboxes', { params: { query: { connectionId: connection.id, limit: 10 } } }));
    expect(page.items.map((m) => [m.id, m.email])).toEqual([[mailboxId, email]]);
    expect(page.nextCursor).toBeNull();
    const connections = await unwrap(client.GET('/v1/connections'));
    expect(connections.items.map((c) => c.id)).toContain(connection.id);
  });

  it('answers errors as typed problems, and unwrap() throws them as MailsyncApiError', async () => {
    const missing = await client.GET('/v1/mailboxes/{id}', { params: { path: { id: 'mbx_AAAAAAAAAAAAAAAA' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ status: 404, code: 'not_found' });

    const invalid = client.POST('/v1/send', { body: { mailboxId, to: ['not an address'], subject: 's', text: 't' } });
    const thrown = await unwrap(invalid).then(() => undefined, (err: unknown) => err);
    expect(thrown).toBeInstanceOf(MailsyncApiError);
    expect(thrown).toMatchObject({ name: 'MailsyncApiError', status: 400, code: 'validation_failed' });
    expect((thrown as MailsyncApiError).problem?.errors?.[0]?.field).toMatch(/^\/body\/to/);
  });

  it('sends the API key it was given: another key is a 401', async () => {
    const stranger = createMailsyncClient({ baseUrl, apiKey: 'not-a-configured-key-0123456789' });
    const { error, response } = await stranger.GET('/v1/connections');
    expect(response.status).toBe(401);
    expect(error?.code).toBe('unauthorized');
  });
});

describe('the README example: a webhook receiver that replies through the client', () => {
  it('verifies the message.received delivery and replies to the message', async () => {
    // The mailbox's first poll sets the baseline: mail from then on is announced.
    await waitUntil('the first poll', async () => (await unwrap(client.GET('/v1/mailboxes/{id}', { params: { path: { id: mailboxId } } }))).lastPollAt ?? undefined);

    // The bot needs the subscription's secret, the subscription the bot's address: until then, 503 (retried).
    const bot: { listener?: RequestListener } = {};
    botServer = createServer((req, res) => (bot.listener ? bot.listener(req, res) : res.writeHead(503).end()));
    const botUrl = await listen(botServer);
    const subscription = await unwrap(client.POST('/v1/webhooks', { body: { url: `${botUrl}/hooks`, events: ['message.received'], mailboxIds: [mailboxId] } }));
    bot.listener = createReplyBot({ client, secret: subscription.secret, text: 'It ships today.' });

    // The sandbox receiver gets the same event under its own subscription, raw, for verifyWebhook below.
    const recorded = await unwrap(client.POST('/v1/webhooks', { body: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received'], mailboxIds: [mailboxId] } }));
    sandbox.receiver.setSecrets([recorded.secret]);

    const original = rawMail(email, 'Order 4711');
    await sandbox.dovecot.deliver(email, original);

    const [reply] = await sandbox.smtp.waitForMessages(1, 20_000);
    expect(reply!.parsed.subject).toBe('Re: Order 4711');
    expect(reply!.parsed.inReplyTo).toBe(/^Message-ID: (.*)$/m.exec(original)![1]!.trim());
    expect(reply!.envelope.to).toEqual(['customer@example.org']);
    expect(reply!.parsed.text?.trim()).toBe('It ships today.');

    const delivery = await sandbox.receiver.waitFor((d) => d.type === 'message.received', 20_000);
    const event = verifyWebhook(recorded.secret, delivery.headers, delivery.rawBody);
    expect(event.id).toBe(delivery.id);
    if (event.type !== 'message.received') throw new Error(`a ${event.type} event`);
    expect(event.data).toMatchObject({ mailboxId, email, folder: 'INBOX', subject: 'Order 4711', from: [expect.stringContaining('customer@example.org')] });

    // The same delivery, refused: checked with the other subscription's secret, or changed on the way.
    expect(() => verifyWebhook(subscription.secret, delivery.headers, delivery.rawBody)).toThrow(expect.objectContaining({ code: 'bad_signature' }));
    const changed = Buffer.from(delivery.rawBody.toString('utf8').replace('Order 4711', 'Order 4712'));
    expect(() => verifyWebhook(recorded.secret, delivery.headers, changed)).toThrow(expect.objectContaining({ code: 'bad_signature' }));
  });
});
