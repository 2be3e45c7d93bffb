/**
 * GET /v1/oauth/callback is public and takes whatever a browser (or anyone)
 * sends: missing, oversized, repeated or garbage `code`/`state`/`error`
 * parameters get a 4xx page, never a 500, and nothing of the input is
 * echoed; nor is error_description, which anyone can write into a link: the
 * page says a fixed sentence per error code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DELEGATED, SANDBOX_TENANT, SANDBOX_USERS } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { expectPage, stateOf } from '../support/oauth-browser.js';

let publicUrl: string;
beforeAll(async () => {
  publicUrl = `http://127.0.0.1:${await freePort()}`;
});
const sandbox = useSandbox(() => ({ publicUrl }));
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), PUBLIC_URL: publicUrl }), () => sandbox.redis);

async function authorizeUrl(): Promise<string> {
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'input', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url },
  });
  const mailbox = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: connection.json().id, email: SANDBOX_USERS.support, ...sandbox.mailServers() },
  });
  return mailbox.json().authorizeUrl as string;
}

const state = (c: string) => c.repeat(43);

describe('hostile callbacks', () => {
  const garbage: [string, string][] = [
    ['no parameters', ''],
    ['a state we never issued', `?code=abc&state=${state('A')}`],
    ['a short state', '?code=abc&state=x'],
    ['only a code', '?code=abc'],
    ['an oversized state', `?code=abc&state=${'a'.repeat(200)}`],
    ['an oversized code', `?code=${'c'.repeat(9000)}&state=${state('A')}`],
    ['markup in code and state', `?code=${encodeURIComponent('<img src=x onerror=alert(1)>')}&state=${encodeURIComponent('<script>alert(1)</script>')}`],
    ['markup in error', `?error=${encodeURIComponent('<script>alert(1)</script>')}`],
    ['markup in error_description', `?error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script>')}&state=${state('B')}`],
    ['a repeated state', `?code=abc&state=${state('A')}&state=${state('B')}`],
    ['broken percent-encoding', '?code=%ff%fe&state=%E0%A4%A'],
    ['an unknown parameter', `?code=abc&state=${state('A')}&admin=true`],
    ['an empty code', `?code=&state=${state('A')}`],
    ['an array-style parameter', `?code[]=abc&state=${state('A')}`],
  ];

  it.each(garbage)('%s: a 4xx page, never a 500, nothing echoed', async (_what, query) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/oauth/callback${query}` });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expectPage(res, res.statusCode);
    expect(res.body).not.toContain('alert(1)');
  });

  it('answers no HEAD: taking a state is not for link prefetchers', async () => {
    const res = await t.app.inject({ method: 'HEAD', url: `/v1/oauth/callback?code=abc&state=${state('A')}` });
    expect(res.statusCode).toBe(404);
  });

  it('an oversized URL is a 4xx too', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/oauth/callback?code=${'c'.repeat(100_000)}` });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
  });

  const ATTACKER = 'Your account is locked. Call +1 555 0100 and read out the code we text you';
  it.each([
    ['access_denied', `AADSTS50011: ${ATTACKER}`, 422, 'redirect_uri_mismatch'],
    ['access_denied', `AADSTS65001: ${ATTACKER}`, 422, 'consent_required'],
    ['access_denied', ATTACKER, 400, 'oauth_denied'],
    ['server_error', `AADSTS90099: ${ATTACKER}`, 502, 'identity_platform_error'],
    ['server_error', ATTACKER, 502, 'identity_platform_error'],
    ['temporarily_unavailable', `${ATTACKER} <script>alert(1)</script>`, 502, 'identity_platform_error'],
  ])('error=%s with an error_description of the attacker\'s: a fixed sentence, none of that text, and the state is used up', async (error, description, status, code) => {
    const s = stateOf(await authorizeUrl());
    const query = new URLSearchParams({ error, error_description: description, state: s });
    const res = await t.app.inject({ method: 'GET', url: `/v1/oauth/callback?${query}` });
    expectPage(res, status);
    expect(res.body).toContain(code);
    for (const word of ['locked', '555', 'read out', 'alert']) expect(res.body).not.toContain(word);
    const again = await t.app.inject({ method: 'GET', url: `/v1/oauth/callback?code=abc&state=${s}` });
    expectPage(again, 400);
    expect(again.body).toContain('oauth_state_invalid');
  });

  it('names the AADSTS code it understood, as digits only', async () => {
    const s = stateOf(await authorizeUrl());
    const query = new URLSearchParams({ error: 'invalid_request', error_description: `AADSTS50011: ${ATTACKER}`, state: s });
    const res = await t.app.inject({ method: 'GET', url: `/v1/oauth/callback?${query}` });
    expect(res.body).toContain('(AADSTS50011).');
  });

  it('logs no state value and no code', () => {
    const text = t.logs.text();
    expect(text).not.toContain(state('A'));
    expect(text).not.toContain('c'.repeat(100));
    expect(text).toContain('state=%5BREDACTED%5D');
  });
});
