/**
 * AUTHORITY_HOST_ALLOWLIST and MAIL_HOST_ALLOWLIST: a client secret or an
 * access token goes only to a host on its list. Two apps share one Redis:
 * `wide` allows the sandbox's hosts, `narrow` only Microsoft's, as a
 * deployment would after tightening the lists.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { buildTestApp, type TestApp } from '../support/app.js';

let sandbox: Sandbox;
let wide: TestApp;
let narrow: TestApp;

beforeAll(async () => {
  sandbox = await startSandbox();
  const shared = { REDIS_PREFIX: `hosts-${randomBytes(4).toString('hex')}`, ENCRYPTION_KEY: randomBytes(32).toString('base64') };
  wide = await buildTestApp(sandbox.redis.url, { ...sandbox.serviceEnv(), ...shared });
  narrow = await buildTestApp(sandbox.redis.url, {
    ...sandbox.serviceEnv(), ...shared,
    AUTHORITY_HOST_ALLOWLIST: 'login.microsoftonline.com',
    MAIL_HOST_ALLOWLIST: 'outlook.office365.com, smtp.office365.com',
  });
}, 60_000);

afterAll(async () => {
  await narrow?.close();
  await wide?.close();
  await sandbox?.stop();
});

const connectionBody = () => ({
  name: 'sandbox', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
  clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
});

async function call(t: TestApp, method: 'POST' | 'PATCH' | 'GET', url: string, payload?: object) {
  return t.app.inject({ method, url, headers: { ...t.auth, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload: JSON.stringify(payload) } : {}) });
}

describe('hosts a secret may go to', () => {
  it('refuses a connection whose authority host is off the list, with the field and the variable named', async () => {
    const count = async (): Promise<number> => ((await call(narrow, 'GET', '/v1/connections')).json() as { items: unknown[] }).items.length;
    const before = await count();
    const res = await call(narrow, 'POST', '/v1/connections', connectionBody());
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: '/body/authorityHost' }] });
    expect(res.json().hint).toMatch(/AUTHORITY_HOST_ALLOWLIST/);
    expect(await count()).toBe(before);
  });

  it('refuses mailbox servers off the list, naming each', async () => {
    const connection = (await call(wide, 'POST', '/v1/connections', connectionBody())).json();
    const res = await call(narrow, 'POST', '/v1/mailboxes', { connectionId: connection.id, email: 'a@contoso.example', ...sandbox.mailServers() });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(['/body/imap/host', '/body/smtp/host']);
    expect(res.json().hint).toMatch(/MAIL_HOST_ALLOWLIST/);
    const patched = await call(narrow, 'POST', '/v1/mailboxes', { connectionId: connection.id, email: 'b@contoso.example', smtp: { host: 'smtp.evil.example', port: 587, secure: false } });
    expect(patched.json().errors.map((e: { field: string }) => e.field)).toEqual(['/body/smtp/host']);
  });

  it('sends no client secret to an authority host taken off the list: host_not_allowed, and no token request', async () => {
    const connection = (await call(wide, 'POST', '/v1/connections', connectionBody())).json();
    const requests = sandbox.identity.tokenRequests({ clientId: SANDBOX_APP_ONLY.clientId });
    const res = await call(narrow, 'POST', `/v1/connections/${connection.id}/verify`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: false, problems: [{ code: 'host_not_allowed' }] });
    expect(res.json().problems[0].detail).toContain(`${new URL(sandbox.identity.url).hostname}, which is not on AUTHORITY_HOST_ALLOWLIST`);
    expect(sandbox.identity.tokenRequests({ clientId: SANDBOX_APP_ONLY.clientId })).toBe(requests);
    // The same connection still works where its host is allowed.
    expect((await call(wide, 'POST', `/v1/connections/${connection.id}/verify`)).json()).toMatchObject({ ok: true, problems: [] });
  });

  it('gives no token for a mailbox whose servers were taken off the list; new servers clear it', async () => {
    const connection = (await call(wide, 'POST', '/v1/connections', connectionBody())).json();
    const mailbox = (await call(wide, 'POST', '/v1/mailboxes', { connectionId: connection.id, email: 'c@contoso.example', pollIntervalSeconds: 86_400, ...sandbox.mailServers() })).json();
    const requests = sandbox.identity.tokenRequests();
    await expect(narrow.deps.services.mailboxTokens.tokenFor(mailbox.id)).rejects.toMatchObject({ code: 'host_not_allowed' });
    expect(sandbox.identity.tokenRequests()).toBe(requests);
    const stopped = (await call(narrow, 'GET', `/v1/mailboxes/${mailbox.id}`)).json();
    expect(stopped).toMatchObject({ state: 'auth_error', lastError: { code: 'host_not_allowed' } });
    expect(stopped.lastError.detail).toContain('127.0.0.1');

    const fixed = await call(narrow, 'PATCH', `/v1/mailboxes/${mailbox.id}`, {
      imap: { host: 'outlook.office365.com', port: 993, secure: true }, smtp: { host: 'smtp.office365.com', port: 587, secure: false },
    });
    expect(fixed.statusCode).toBe(200);
    expect(fixed.json()).toMatchObject({ state: 'active', lastError: null });
  });
});
