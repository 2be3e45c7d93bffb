/**
 * After the main flows run for real against the sandbox — an app-only
 * connection (its secret rotated), verify, a mailbox polled with mail
 * announced by webhook, the doctor, reading mail, a send, a delegated
 * sign-in with its refresh token, a webhook whose secret is rotated, a
 * certificate connection (its certificate rotated) — no secret or private key
 * secret appears where it must not: in a log line (at trace level, library
 * logs included), an API response body or header, a Redis key or value
 * (read as raw bytes; BullMQ job payloads live there too), or a webhook
 * delivery. The two responses that hand out a webhook secret once are the
 * only exemptions, for that secret alone; they double as the scanner's
 * positive control.
 */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_DELEGATED, SANDBOX_TENANT, SANDBOX_USERS } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';
import { createTestCertificate } from '../../sandbox/x509.js';
import { createPrivateKey } from 'node:crypto';
import { browserAgent, signInThrough } from '../support/oauth-browser.js';
import { readRedisRaw } from '../support/redis-raw.js';

/** A second valid secret of the sandbox's app-only registration, for the rotation. */
const ROTATED_CLIENT_SECRET = 'Rot8Q~rotated-client-secret-value-0042';

/** Shapes of secrets whatever their value: any JWT, Entra-style opaque codes and refresh tokens, an XOAUTH2 initial response. */
const SHAPES: Record<string, RegExp> = {
  'a JWT (access or ID token)': /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/,
  'an authorization code or refresh token (1.A…)': /\b1\.A[A-Za-z0-9_-]{40,}/,
  'an XOAUTH2 payload (base64 of "user=…")': /dXNlcj[0-9A-Za-z+/]{20,}/,
  'a webhook secret (whsec_…)': /whsec_[A-Za-z0-9+/=]{20,}/,
  'a private key (PEM)': /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/,
};

let agent: Agent;
/** Every API answer, as the scanner sees it (status line, headers, body), and the secrets it hands out by design. */
const answers: { request: string; text: string; shows: readonly string[] }[] = [];
/** Exact values to look for, by name. */
const secrets = new Map<string, string | Buffer>();

let publicUrl: string;
beforeAll(async () => {
  publicUrl = `http://127.0.0.1:${await freePort()}`;
});
const sandbox = useSandbox(() => ({ publicUrl }));
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(), PUBLIC_URL: publicUrl, LOG_LEVEL: 'trace', POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50',
}), () => sandbox.redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
  agent = browserAgent(sandbox.pki.caCertPem);
});

afterAll(async () => {
  await agent?.close();
});

/** Secrets an answer shows by design: a new webhook secret (once), the state inside an authorize URL. */
const WEBHOOK_SECRET = ['the first webhook secret', 'the rotated webhook secret', 'a webhook secret (whsec_…)'];
const AUTHORIZE_URL = ['the OAuth state'];

/** An API call whose answer is kept for the scan. */
async function call(options: InjectOptions & { url: string }, shows: readonly string[] = []): Promise<LightMyRequestResponse> {
  const res = await t.app.inject({ ...options, headers: { ...t.auth, ...options.headers } });
  answers.push({ request: `${options.method ?? 'GET'} ${options.url}`, text: `${res.statusCode}\n${JSON.stringify(res.headers)}\n${res.body}`, shows });
  return res;
}

async function created(url: string, payload: object, shows: readonly string[] = []): Promise<Record<string, unknown> & { id: string }> {
  const res = await call({ method: 'POST', url, payload }, shows);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function view(id: string): Promise<{ state: string; lastPollAt: string | null }> {
  return (await call({ method: 'GET', url: `/v1/mailboxes/${id}` })).json();
}

function rememberWebhookSecret(name: string, secret: string): void {
  secrets.set(name, secret);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  secrets.set(`${name}: its HMAC key (raw bytes)`, key);
  secrets.set(`${name}: its HMAC key (hex)`, key.toString('hex'));
  secrets.set(`${name}: its HMAC key (base64url)`, key.toString('base64url'));
}

function xoauth2(user: string, accessToken: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${accessToken}\x01\x01`).toString('base64');
}

/** The main flows, end to end; fills `secrets` with what they handled. */
async function exerciseMainFlows(): Promise<void> {
  // A webhook, its secret rotated: both secrets are shown once each.
  const hook = await call({ method: 'POST', url: '/v1/webhooks', payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received', 'message.sent', 'mailbox.authorized'] } }, WEBHOOK_SECRET);
  expect(hook.statusCode, hook.body).toBe(201);
  const rotated = await call({ method: 'POST', url: `/v1/webhooks/${hook.json().id as string}/rotate-secret` }, WEBHOOK_SECRET);
  expect(rotated.statusCode, rotated.body).toBe(200);
  rememberWebhookSecret('the first webhook secret', hook.json().secret);
  rememberWebhookSecret('the rotated webhook secret', rotated.json().secret);
  sandbox.receiver.setSecrets([rotated.json().secret, hook.json().secret]);

  // An app-only connection, verified, its client secret rotated and verified again.
  sandbox.identity.updateApp(SANDBOX_APP_ONLY.clientId, {
    secrets: [{ id: SANDBOX_APP_ONLY.secretId, value: SANDBOX_APP_ONLY.secret }, { id: 'rotated-0042', value: ROTATED_CLIENT_SECRET }],
  });
  const appOnly = await created('/v1/connections', {
    name: 'scan app-only', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
    clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
  });
  expect((await call({ method: 'POST', url: `/v1/connections/${appOnly.id}/verify` })).json().ok).toBe(true);
  expect((await call({ method: 'PATCH', url: `/v1/connections/${appOnly.id}`, payload: { clientSecret: ROTATED_CLIENT_SECRET } })).statusCode).toBe(200);
  expect((await call({ method: 'POST', url: `/v1/connections/${appOnly.id}/verify` })).json().ok).toBe(true);

  // A mailbox polled, new mail announced, the doctor, reading mail, a message sent.
  const user = 'secrets-scan@contoso.example';
  const mailbox = await created('/v1/mailboxes', { connectionId: appOnly.id, email: user, pollIntervalSeconds: 1, ...sandbox.mailServers() });
  await waitUntil('the baseline poll', async () => ((await view(mailbox.id)).lastPollAt ? true : undefined));
  await sandbox.dovecot.deliver(user, rawMail(user, 'scan me'));
  await waitUntil('the announcement', () => sandbox.receiver.received.find((d) => d.type === 'message.received'));
  expect((await call({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/diagnose` })).json().ok).toBe(true);
  const listed = await call({ method: 'GET', url: `/v1/mailboxes/${mailbox.id}/messages?folder=INBOX&limit=5` });
  expect(listed.statusCode, listed.body).toBe(200);
  const sent = await call({ method: 'POST', url: '/v1/send', payload: { mailboxId: mailbox.id, to: ['customer@example.org'], subject: 'scan reply', text: 'hello' } });
  expect(sent.statusCode, sent.body).toBe(202);
  await waitUntil('the message sent', async () => ((await call({ method: 'GET', url: `/v1/send/${sent.json().id as string}` })).json().status === 'sent' ? true : undefined), 20_000);
  const appToken = await t.deps.services.mailboxTokens.tokenFor(mailbox.id);
  secrets.set('the app-only access token', appToken.accessToken);
  secrets.set('the app-only XOAUTH2 payload', xoauth2(user, appToken.accessToken));

  // A delegated sign-in: a code through the browser, a refresh token kept by the service, a poll with the user's token.
  const delegated = await created('/v1/connections', {
    name: 'scan delegated', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId,
    clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url,
  });
  const pending = await created('/v1/mailboxes', { connectionId: delegated.id, email: SANDBOX_USERS.support, pollIntervalSeconds: 1, ...sandbox.mailServers() }, AUTHORIZE_URL);
  const { callback, res } = await signInThrough(t, agent, pending.authorizeUrl as string);
  answers.push({ request: 'GET /v1/oauth/callback', text: `${res.statusCode}\n${JSON.stringify(res.headers)}\n${res.body}`, shows: [] });
  expect(res.statusCode, res.body).toBe(200);
  secrets.set('the authorization code', callback.searchParams.get('code') ?? '');
  secrets.set('the OAuth state', callback.searchParams.get('state') ?? '');
  await waitUntil('a delegated poll', async () => ((await view(pending.id)).lastPollAt ? true : undefined));
  const userToken = await t.deps.services.mailboxTokens.tokenFor(pending.id);
  secrets.set('the delegated access token', userToken.accessToken);
  secrets.set('the delegated XOAUTH2 payload', xoauth2(SANDBOX_USERS.support, userToken.accessToken));

  // A certificate connection of the same app, verified, its certificate rotated and verified again.
  const certificates = [createTestCertificate({ commonName: 'scan one' }), createTestCertificate({ commonName: 'scan two' })];
  sandbox.identity.updateApp(SANDBOX_APP_ONLY.clientId, { certificates: certificates.map((c) => ({ pem: c.certPem })) });
  const withCertificate = await created('/v1/connections', {
    name: 'scan certificate', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
    certificate: { pem: certificates[0]!.certPem + certificates[0]!.keyPem }, authorityHost: sandbox.identity.url,
  });
  expect((await call({ method: 'POST', url: `/v1/connections/${withCertificate.id}/verify` })).json().ok).toBe(true);
  expect((await call({ method: 'PATCH', url: `/v1/connections/${withCertificate.id}`, payload: { certificate: { pem: certificates[1]!.certPem + certificates[1]!.keyPem } } })).statusCode).toBe(200);
  expect((await call({ method: 'POST', url: `/v1/connections/${withCertificate.id}/verify` })).json().ok).toBe(true);
  certificates.forEach((c, i) => {
    const der = createPrivateKey(c.keyPem).export({ type: 'pkcs8', format: 'der' });
    secrets.set(`private key ${i} (PEM body)`, c.keyPem.split('\n').slice(1, -2).join(''));
    secrets.set(`private key ${i} (a PEM line)`, c.keyPem.split('\n')[5]!);
    secrets.set(`private key ${i} (DER bytes)`, der);
    secrets.set(`private key ${i} (base64url)`, der.toString('base64url').slice(0, 64));
  });

  secrets.set('the app-only client secret', SANDBOX_APP_ONLY.secret);
  secrets.set('the rotated client secret', ROTATED_CLIENT_SECRET);
  secrets.set('the delegated client secret', SANDBOX_DELEGATED.secret);
  answers.push({ request: 'GET /metrics', text: (await t.app.inject({ method: 'GET', url: '/metrics' })).body, shows: [] });
}

function contains(haystack: Buffer | string, needle: string | Buffer): boolean {
  return (typeof haystack === 'string' ? Buffer.from(haystack) : haystack).includes(typeof needle === 'string' ? Buffer.from(needle) : needle);
}

/** Where each secret (exact, or by shape) was found: `<secret> in <place>`. */
function scan(place: string, content: Buffer | string, exempt: (name: string) => boolean = () => false): string[] {
  const found: string[] = [];
  for (const [name, value] of secrets) if (!exempt(name) && contains(content, value)) found.push(`${name} in ${place}`);
  const text = typeof content === 'string' ? content : content.toString('latin1');
  for (const [name, shape] of Object.entries(SHAPES)) if (!exempt(name) && shape.test(text)) found.push(`${name} in ${place}: …${shape.exec(text)?.[0].slice(0, 24)}…`);
  return found;
}

describe('secrets after the main flows', () => {
  it('appear in no log line, API answer, Redis key or value, job payload or webhook delivery', async () => {
    await exerciseMainFlows();
    // Not a vacuous scan: every secret was captured, and the scanner finds one where it is meant to be.
    for (const [name, value] of secrets) expect(value.length, name).toBeGreaterThan(8);
    expect(scan('the webhook creation answer', answers.find((a) => a.shows === WEBHOOK_SECRET)!.text).length).toBeGreaterThan(0);

    const findings: string[] = [];
    t.logs.lines.forEach((line, i) => findings.push(...scan(`log line ${i} (${line.slice(0, 80)}…)`, line)));
    for (const answer of answers) findings.push(...scan(`the answer to ${answer.request}`, answer.text, (name) => answer.shows.some((shown) => name === shown || name.startsWith(`${shown}:`))));
    const stored = await readRedisRaw(t.deps.redis, `*${t.config.redis.prefix}*`);
    expect(stored.some((entry) => entry.key.includes(':q}'))).toBe(true); // the BullMQ queues are in the scan
    for (const entry of stored) findings.push(...scan(`Redis ${entry.type} ${entry.key}`, entry.bytes));
    for (const delivery of sandbox.receiver.received) findings.push(...scan(`the ${delivery.type} webhook delivery`, JSON.stringify(delivery.body)));

    expect(findings).toEqual([]);
    expect(t.logs.lines.length).toBeGreaterThan(100);
    // The token caches (app-only and the delegated mailbox's, with its refresh token) were in the scan.
    const [cacheHead = '', cacheTail = ''] = t.deps.keys.tokenCache('\u0000').split('\u0000');
    expect(stored.filter((e) => e.key.startsWith(cacheHead) && e.key.endsWith(cacheTail))).toHaveLength(2);
  }, 90_000);
});
