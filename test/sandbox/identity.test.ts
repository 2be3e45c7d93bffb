/**
 * The identity imitation driven by the real @azure/msal-node 7 through the
 * project's undici network client, trusting the test CA only via `caPem`.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ClientAuthError, InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { catalogue } from '../../sandbox/identity/index.js';
import { freePort } from '../../sandbox/ports.js';
import { verifyExchangeToken } from '../../sandbox/tokens.js';
import { browserAgent, followAuthorize } from '../support/oauth-browser.js';
import { causeCode, createMsalNetworkClient, MsalHttpError } from '../../src/adapters/msal/network-client.js';
import {
  ALICE, BOB, cachedRefreshToken, DAEMON, EXCHANGE_DEFAULT, MULTI, msalApp, NO_REDIRECT, OTHER_REDIRECT, rawTokenPost,
  REDIRECT, signIn, signInAndRedeem, startIdentityFixture, TENANT_A, TENANT_B, USER_SCOPES, WEB, type IdentityFixture,
} from '../support/identity-fixture.js';

let fx: IdentityFixture;

beforeAll(async () => {
  fx = await startIdentityFixture();
});

afterAll(async () => {
  await fx?.close();
});

/** Runs `fn`, expecting MSAL to reject; returns the error. */
async function rejection(fn: () => Promise<unknown>): Promise<AuthError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('expected a rejection');
}

function errorNo(err: AuthError): number {
  return Number((err as ServerError).errorNo);
}

describe('client credentials', () => {
  it('returns an app-only token with the granted roles, signed by the sandbox key', async () => {
    const before = fx.identity.requests.length;
    const cca = msalApp(fx, DAEMON, TENANT_A);
    const result = await cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
    expect(result?.tokenType).toBe('Bearer');
    const claims = await verifyExchangeToken(fx.pki.signingKey, result?.accessToken ?? '');
    expect(claims).toMatchObject({ tid: TENANT_A, appid: DAEMON.clientId, idtyp: 'app', roles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
    expect(claims.oid).toBe(fx.identity.servicePrincipalId(DAEMON.clientId, TENANT_A));
    // MSAL's requests, in order: OpenID configuration, then the token POST.
    const made = fx.identity.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    expect(made).toEqual([
      `GET /${TENANT_A}/v2.0/.well-known/openid-configuration`,
      `POST /${TENANT_A}/oauth2/v2.0/token`,
    ]);
  });

  it('serves a second acquire from the MSAL cache without a token request', async () => {
    const cca = msalApp(fx, DAEMON, TENANT_A);
    await cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
    const count = fx.identity.tokenRequests({ clientId: DAEMON.clientId, grantType: 'client_credentials' });
    const again = await cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
    expect(again?.fromCache).toBe(true);
    expect(fx.identity.tokenRequests({ clientId: DAEMON.clientId, grantType: 'client_credentials' })).toBe(count);
  });

  it('is never served from the cache when expires_in < 300 s (MSAL renews 300 s early)', async () => {
    // Exactly 300 is still served from the cache within the same second: MSAL compares with ">".
    fx.identity.setAccessTokenLifetime(299);
    try {
      const cca = msalApp(fx, DAEMON, TENANT_A);
      await cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
      const again = await cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
      expect(again?.fromCache).toBe(false);
    } finally {
      fx.identity.setAccessTokenLifetime(3599);
    }
  });

  it('accepts a verified domain as the tenant', async () => {
    const result = await msalApp(fx, DAEMON, 'contoso.example').acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
    expect((await verifyExchangeToken(fx.pki.signingKey, result?.accessToken ?? '')).tid).toBe(TENANT_A);
  });

  it('is refused for organizations: by MSAL before any request, by the endpoint with AADSTS50059', async () => {
    const before = fx.identity.requests.length;
    const err = await rejection(() => msalApp(fx, MULTI, 'organizations').acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }));
    expect(err.errorCode).toBe('missing_tenant_id_error');
    expect(fx.identity.requests.length).toBe(before);
    const raw = await rawTokenPost(fx, 'organizations', { grant_type: 'client_credentials', client_id: MULTI.clientId, client_secret: MULTI.secret, scope: EXCHANGE_DEFAULT });
    expect(raw.status).toBe(400);
    expect(raw.body).toMatchObject({ error: 'invalid_request', error_codes: [50059] });
  });
});

describe('AADSTS catalogue through MSAL', () => {
  it.each(catalogue().map((e) => [e.code, e] as const))('AADSTS%i surfaces with errorNo, error and status', async (code, entry) => {
    fx.identity.injectError({ aadsts: code, clientId: DAEMON.clientId, times: 1 });
    // A fresh MSAL instance per code: a 5xx answer puts the request in MSAL's throttling cache.
    const err = await rejection(() => msalApp(fx, DAEMON, TENANT_A).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }));
    expect(errorNo(err)).toBe(code);
    expect(err.errorCode).toBe(entry.error);
    expect(err.errorMessage).toContain(`AADSTS${code}: `);
    if (entry.suberror) {
      // MSAL maps consent_required / bad_token sub-errors to InteractionRequiredAuthError.
      expect(err).toBeInstanceOf(InteractionRequiredAuthError);
      expect(err.subError).toBe(entry.suberror);
    } else {
      expect(err).toBeInstanceOf(ServerError);
      expect((err as ServerError).status).toBe(entry.status);
    }
  });
});

describe('natural errors of the token endpoint', () => {
  const cases: [string, () => Promise<unknown>, number, string][] = [
    ['wrong secret', () => msalApp(fx, { ...DAEMON, secret: 'nope' }, TENANT_A).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), 7000215, 'invalid_client'],
    ['secret id pasted as value', () => msalApp(fx, { ...DAEMON, secret: DAEMON.secretId }, TENANT_A).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), 7000215, 'invalid_client'],
    ['expired secret', () => msalApp(fx, { ...DAEMON, secret: 'expired-secret-value' }, TENANT_A).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), 7000222, 'invalid_client'],
    ['unknown client id', () => msalApp(fx, { clientId: '99999999-0000-4000-8000-000000000000', secret: 'x' }, TENANT_A).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), 700016, 'unauthorized_client'],
    ['single-tenant app in another tenant', () => msalApp(fx, DAEMON, TENANT_B).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), 700016, 'unauthorized_client'],
    ['multi-tenant app never consented in a tenant (no service principal)', () => msalApp(fx, MULTI, 'fabrikam.example').acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }), 7000229, 'invalid_client'],
    ['delegated scope for app-only', () => msalApp(fx, DAEMON, TENANT_A).acquireTokenByClientCredential({ scopes: ['https://outlook.office.com/IMAP.AccessAsUser.All'] }), 70011, 'invalid_scope'],
    ['another resource', () => msalApp(fx, DAEMON, TENANT_A).acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] }), 70011, 'invalid_scope'],
  ];
  it.each(cases)('%s', async (_name, act, code, error) => {
    const err = await rejection(act);
    expect(errorNo(err)).toBe(code);
    expect(err.errorCode).toBe(error);
  });

  it('unknown tenant: MSAL reports endpoints_resolution_error, the client keeps the AADSTS90002 answer', async () => {
    const authority = fx.identity.authority('nosuch.example');
    const err = await rejection(() => msalApp(fx, DAEMON, 'nosuch.example').acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }));
    expect(err).toBeInstanceOf(ClientAuthError);
    // MSAL replaces every discovery failure (here openid_config_error) by endpoints_resolution_error.
    expect(err.errorCode).toBe('endpoints_resolution_error');
    const failure = fx.networkClient.lastFailure(authority);
    expect(failure).toMatchObject({ status: 400, entra: { error: 'invalid_tenant', errorCodes: [90002] } });
  });

  it('unknown tenant at the token endpoint (discovery skipped with authorityMetadata): AADSTS90002', async () => {
    const tenant = 'nosuch.example';
    const base = `${fx.identity.url}/${tenant}`;
    const metadata = JSON.stringify({
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      issuer: `${base}/v2.0`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
    });
    const err = await rejection(() => msalApp(fx, DAEMON, tenant, { authorityMetadata: metadata }).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }));
    expect(err).toBeInstanceOf(ServerError);
    expect(errorNo(err)).toBe(90002);
  });

  it('answers malformed requests with 90014, 7000218, 70003 and 9002313', async () => {
    const base = { client_id: DAEMON.clientId, client_secret: DAEMON.secret, scope: EXCHANGE_DEFAULT };
    const missingGrant = await rawTokenPost(fx, TENANT_A, base);
    expect(missingGrant.body.error_codes).toEqual([90014]);
    expect(missingGrant.body.error_description).toContain(`'grant_type'`);
    const missingSecret = await rawTokenPost(fx, TENANT_A, { grant_type: 'client_credentials', client_id: DAEMON.clientId, scope: EXCHANGE_DEFAULT });
    expect(missingSecret).toMatchObject({ status: 401, body: { error: 'invalid_client', error_codes: [7000218] } });
    const badGrant = await rawTokenPost(fx, TENANT_A, { ...base, grant_type: 'password' });
    expect(badGrant.body).toMatchObject({ error: 'unsupported_grant_type', error_codes: [70003] });
    const json = await rawTokenPost(fx, TENANT_A, { ...base, grant_type: 'client_credentials' }, 'application/json');
    expect(json).toMatchObject({ status: 400, body: { error: 'invalid_request', error_codes: [9002313] } });
    expect(json.body.error_description).toMatch(/^AADSTS9002313: .+\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  });

  it('logs requests without secrets', () => {
    const serialized = JSON.stringify(fx.identity.requests);
    expect(serialized).not.toContain(DAEMON.secret);
    expect(fx.identity.tokenRequests({ clientId: DAEMON.clientId })).toBeGreaterThan(0);
  });
});

describe('authorization code with PKCE', () => {
  it('signs in, redeems the code, and refreshes', async () => {
    const cca = msalApp(fx, WEB, TENANT_A);
    const { signed, result } = await signInAndRedeem(fx, cca, { loginHint: ALICE });
    expect(signed.status).toBe(302);
    expect(signed.location?.origin + (signed.location?.pathname ?? '')).toBe(REDIRECT);
    expect(signed.location?.searchParams.get('state')).toBe(signed.state);
    expect(signed.location?.searchParams.get('session_state')).toBeTruthy();

    expect(result.idTokenClaims).toMatchObject({
      aud: WEB.clientId,
      iss: `${fx.identity.url}/${TENANT_A}/v2.0`,
      tid: TENANT_A,
      nonce: signed.nonce,
      preferred_username: ALICE,
      name: 'Alice',
    });
    const jwksUri = `${fx.identity.url}/${TENANT_A}/discovery/v2.0/keys`;
    const keys = await fx.networkClient.sendGetRequestAsync<JSONWebKeySet>(jwksUri);
    await jwtVerify(result.idToken, createLocalJWKSet(keys.body), { issuer: `${fx.identity.url}/${TENANT_A}/v2.0`, audience: WEB.clientId });
    const oid = (result.idTokenClaims as { oid: string }).oid;
    expect(result.account?.homeAccountId).toBe(`${oid}.${TENANT_A}`); // from client_info
    expect(result.scopes).toEqual(expect.arrayContaining(USER_SCOPES));
    const access = await verifyExchangeToken(fx.pki.signingKey, result.accessToken);
    expect(access).toMatchObject({ scp: 'IMAP.AccessAsUser.All SMTP.Send', upn: ALICE, oid, tid: TENANT_A, idtyp: 'user' });

    const silent = await cca.acquireTokenSilent({ account: result.account!, scopes: USER_SCOPES });
    expect(silent.fromCache).toBe(true);
    const refreshes = fx.identity.tokenRequests({ clientId: WEB.clientId, grantType: 'refresh_token' });
    const forced = await cca.acquireTokenSilent({ account: result.account!, scopes: USER_SCOPES, forceRefresh: true });
    expect(forced.fromCache).toBe(false);
    expect(forced.accessToken).not.toBe(result.accessToken);
    expect(fx.identity.tokenRequests({ clientId: WEB.clientId, grantType: 'refresh_token' })).toBe(refreshes + 1);

    const byRefreshToken = await cca.acquireTokenByRefreshToken({ refreshToken: cachedRefreshToken(cca), scopes: USER_SCOPES });
    expect(byRefreshToken?.account?.username).toBe(ALICE);
  });

  it('refuses a replayed code (54005), a wrong verifier (501481), an expired code (70008) and a changed redirect URI (500112)', async () => {
    const cca = msalApp(fx, WEB, TENANT_A);
    const { code, signed } = await signInAndRedeem(fx, cca);
    const redeem = (c: string, verifier: string, redirectUri = REDIRECT) =>
      rejection(() => cca.acquireTokenByCode({ code: c, scopes: USER_SCOPES, redirectUri, codeVerifier: verifier }));
    expect(errorNo(await redeem(code, signed.verifier))).toBe(54005);

    const fresh = await signIn(fx, cca);
    const freshCode = fresh.location?.searchParams.get('code') ?? '';
    const wrong = await redeem(freshCode, 'x'.repeat(43));
    expect(wrong).toBeInstanceOf(ServerError);
    expect(errorNo(wrong)).toBe(501481);
    expect(errorNo(await redeem(freshCode, fresh.verifier, OTHER_REDIRECT))).toBe(500112);
    expect(errorNo(await redeem('1.Anot-a-code', fresh.verifier))).toBe(9002313);

    const old = await signIn(fx, cca);
    fx.identity.ageAuthCodes(11 * 60 * 1000);
    expect(errorNo(await redeem(old.location?.searchParams.get('code') ?? '', old.verifier))).toBe(70008);
  });

  it('shows an error page for an unregistered redirect URI (50011) and an app without one (500113)', async () => {
    const mismatch = await signIn(fx, msalApp(fx, WEB, TENANT_A), { redirectUri: 'https://evil.example/cb' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.location).toBeUndefined();
    expect(mismatch.html).toContain('AADSTS50011');
    const none = await signIn(fx, msalApp(fx, NO_REDIRECT, TENANT_A));
    expect(none.status).toBe(400);
    expect(none.html).toContain('AADSTS500113');
  });

  it('redirects back with errors: other tenant (50020), declined consent (65004), missing PKCE (90014), /organizations for a single-tenant app (50194)', async () => {
    const cca = msalApp(fx, WEB, TENANT_A);
    fx.identity.signInAs(BOB);
    try {
      const foreign = await signIn(fx, cca);
      expect(foreign.location?.searchParams.get('error_description')).toContain('AADSTS50020');
      expect(foreign.location?.searchParams.get('state')).toBe(foreign.state);
    } finally {
      fx.identity.signInAs(null);
    }
    fx.identity.denyConsent(true);
    try {
      const declined = await signIn(fx, cca);
      expect(declined.location?.searchParams.get('error')).toBe('access_denied');
      expect(declined.location?.searchParams.get('error_subcode')).toBe('cancel');
      expect(declined.location?.searchParams.get('error_description')).toMatch(/^AADSTS65004: /);
    } finally {
      fx.identity.denyConsent(false);
    }
    const noPkce = await signIn(fx, cca, { pkce: false });
    expect(noPkce.location?.searchParams.get('error_description')).toContain(`AADSTS90014: The required field 'code_challenge'`);
    const orgs = await signIn(fx, msalApp(fx, WEB, 'organizations'));
    expect(orgs.location?.searchParams.get('error_description')).toContain('AADSTS50194');
    fx.identity.injectError({ aadsts: 65001, endpoint: 'authorize', clientId: WEB.clientId, times: 1 });
    const injected = await signIn(fx, cca);
    expect(injected.location?.searchParams.get('error_description')).toMatch(/^AADSTS65001: /);
    expect((await signIn(fx, cca)).location?.searchParams.get('code')).toBeTruthy(); // times: 1
  });

  it('answers a revoked refresh token with 50173 and an expired one with 700082', async () => {
    const cca = msalApp(fx, WEB, TENANT_A);
    const { result } = await signInAndRedeem(fx, cca, { loginHint: ALICE });
    fx.identity.revokeRefreshTokens(ALICE);
    const revoked = await rejection(() => cca.acquireTokenSilent({ account: result.account!, scopes: USER_SCOPES, forceRefresh: true }));
    expect(revoked).toBeInstanceOf(ServerError);
    expect(revoked.errorCode).toBe('invalid_grant');
    expect(errorNo(revoked)).toBe(50173);

    const again = await signInAndRedeem(fx, cca, { loginHint: ALICE }); // a new sign-in gets a working token
    fx.identity.expireRefreshTokens(ALICE);
    const expired = await rejection(() => cca.acquireTokenSilent({ account: again.result.account!, scopes: USER_SCOPES, forceRefresh: true }));
    expect(expired).toBeInstanceOf(InteractionRequiredAuthError);
    expect(errorNo(expired)).toBe(700082);
  });
});

describe('multi-tenant app through /organizations', () => {
  it('signs in a user of another tenant, whose tenant still lacks admin consent for app-only', async () => {
    const cca = msalApp(fx, MULTI, 'organizations');
    const { result } = await signInAndRedeem(fx, cca, { loginHint: BOB });
    expect(result.idTokenClaims).toMatchObject({ tid: TENANT_B, iss: `${fx.identity.url}/${TENANT_B}/v2.0`, aud: MULTI.clientId });
    expect(result.account?.tenantId).toBe(TENANT_B);
    expect(fx.identity.requests.some((r) => r.path === '/organizations/v2.0/.well-known/openid-configuration')).toBe(true);
    const refreshed = await cca.acquireTokenSilent({ account: result.account!, scopes: USER_SCOPES, forceRefresh: true });
    expect((await verifyExchangeToken(fx.pki.signingKey, refreshed.accessToken)).tid).toBe(TENANT_B);

    // User consent does not grant application permissions: app-only still needs the admin.
    const appOnly = () => msalApp(fx, MULTI, TENANT_B).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
    expect(errorNo(await rejection(appOnly))).toBe(65001);
    fx.identity.updateApp(MULTI.clientId, { consentedTenants: [TENANT_A, TENANT_B] });
    const token = await appOnly();
    expect((await verifyExchangeToken(fx.pki.signingKey, token?.accessToken ?? '')).tid).toBe(TENANT_B);
  });

  it('answers /adminconsent: an administrator consents for their tenant (app-only works there), others get the error forms', async () => {
    fx.identity.updateApp(MULTI.clientId, { consentedTenants: [TENANT_A] });
    fx.identity.addUser({ upn: 'carol@fabrikam.example', tenantId: TENANT_B, admin: true });
    const agent = browserAgent(fx.pki.caCertPem);
    const consent = async (path: string, state: string, redirectUri = REDIRECT) => {
      const url = `${fx.identity.url}${path}?client_id=${MULTI.clientId}&scope=${encodeURIComponent(EXCHANGE_DEFAULT)}&redirect_uri=${encodeURIComponent(redirectUri)}&state=${state}`;
      return followAuthorize(agent, url);
    };
    try {
      fx.identity.signInAs(BOB);
      const refused = (await consent('/organizations/v2.0/adminconsent', 's1')).location!;
      expect(refused.searchParams.get('error')).toBe('access_denied');
      expect(refused.searchParams.get('error_description')).toMatch(/^AADSTS90094: /);
      expect(refused.searchParams.get('state')).toBe('s1');

      fx.identity.signInAs('carol@fabrikam.example');
      fx.identity.injectError({ endpoint: 'adminconsent', aadsts: 90099, times: 1 });
      expect((await consent('/organizations/adminconsent', 's2')).location!.searchParams.get('error_description')).toMatch(/^AADSTS90099: /);
      fx.identity.denyConsent(true);
      expect((await consent('/organizations/adminconsent', 's3')).location!.searchParams.get('error_description')).toMatch(/^AADSTS65004: /);
      fx.identity.denyConsent(false);
      const appOnly = () => msalApp(fx, MULTI, TENANT_B).acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] });
      // No consent in that tenant yet: no service principal there (65001 is for a tenant where only a user consented).
      expect(errorNo(await rejection(appOnly))).toBe(7000229);
      // The v1 path too; the answer names the administrator's tenant.
      const granted = (await consent('/organizations/adminconsent', 's4')).location!;
      expect(Object.fromEntries(granted.searchParams)).toEqual({ admin_consent: 'True', tenant: TENANT_B, state: 's4', scope: EXCHANGE_DEFAULT });
      expect((await verifyExchangeToken(fx.pki.signingKey, (await appOnly())?.accessToken ?? '')).tid).toBe(TENANT_B);

      const unregistered = await consent('/organizations/v2.0/adminconsent', 's5', OTHER_REDIRECT);
      expect(unregistered.status).toBe(400);
      expect(unregistered.location).toBeUndefined();
      expect(unregistered.html).toContain('AADSTS50011');
    } finally {
      fx.identity.signInAs(null);
      fx.identity.denyConsent(false);
      fx.identity.clearErrors();
      await agent.close();
    }
  });

  it('serves metadata for common with the templated issuer, and JWKS with the signing key', async () => {
    const metadata = await fx.networkClient.sendGetRequestAsync<Record<string, string>>(`${fx.identity.url}/common/v2.0/.well-known/openid-configuration`);
    expect(metadata.body.issuer).toBe(`${fx.identity.url}/{tenantid}/v2.0`);
    expect(metadata.body.token_endpoint).toBe(`${fx.identity.url}/common/oauth2/v2.0/token`);
    const keys = await fx.networkClient.sendGetRequestAsync<{ keys: { kid: string; kty: string; use: string }[] }>(metadata.body.jwks_uri ?? '');
    expect(keys.body.keys[0]).toMatchObject({ kid: fx.pki.signingKey.kid, kty: 'RSA', use: 'sig' });
  });
});

describe('outages', () => {
  it('down: connections are reset', async () => {
    // A fresh client: a kept-alive socket closed by the server shows up as UND_ERR_SOCKET instead.
    const fresh = createMsalNetworkClient({ caPem: [fx.pki.caCertPem] });
    fx.identity.setOutage({ kind: 'down' });
    try {
      const err = await rejection(() => fresh.sendGetRequestAsync(`${fx.identity.url}/${TENANT_A}/discovery/v2.0/keys`));
      expect(err).toMatchObject({ kind: 'network' });
      expect(causeCode(err)).toBe('ECONNRESET');
    } finally {
      fx.identity.setOutage(null);
      await fresh.close();
    }
  });

  it('slow: the client times out on the headers', async () => {
    const impatient = createMsalNetworkClient({ caPem: [fx.pki.caCertPem], timeoutMs: 200 });
    try {
      // The connection is made first (kept alive, then reused): on a loaded machine a TLS handshake
      // alone can take longer than 200 ms, which would time out the connect, not the headers.
      for (let attempt = 0; attempt < 20; attempt++) {
        if (await impatient.sendGetRequestAsync(`${fx.identity.url}/${TENANT_A}/discovery/v2.0/keys`).then(() => true, () => false)) break;
      }
      fx.identity.setOutage({ kind: 'slow', delayMs: 5000 });
      const err = await rejection(() => impatient.sendGetRequestAsync(`${fx.identity.url}/${TENANT_A}/discovery/v2.0/keys`));
      expect(err).toMatchObject({ kind: 'timeout' });
      expect(causeCode(err)).toBe('UND_ERR_HEADERS_TIMEOUT');
    } finally {
      fx.identity.setOutage(null);
      await impatient.close();
    }
  });

  it('http500: MSAL reports a ServerError and then throttles the same request without sending it', async () => {
    const cca = msalApp(fx, DAEMON, TENANT_A);
    await cca.getAuthCodeUrl({ scopes: ['openid'], redirectUri: REDIRECT }).catch(() => undefined); // resolves metadata first
    fx.identity.setOutage({ kind: 'http500' });
    try {
      const err = await rejection(() => cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT], skipCache: true }));
      expect(err).toBeInstanceOf(ServerError);
      expect((err as ServerError).status).toBe(500);
      expect(errorNo(err)).toBe(90033);
      fx.identity.setOutage(null);
      const sent = fx.identity.tokenRequests({ clientId: DAEMON.clientId });
      const throttled = await rejection(() => cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT], skipCache: true }));
      expect(throttled).toBeInstanceOf(ServerError);
      expect(fx.identity.tokenRequests({ clientId: DAEMON.clientId })).toBe(sent);
    } finally {
      fx.identity.setOutage(null);
    }
  });
});

describe('network client with MSAL', () => {
  it('connection refused: the MSAL error carries ECONNREFUSED in its cause', async () => {
    const port = await freePort();
    const base = `https://localhost:${port}/${TENANT_A}`;
    const metadata = JSON.stringify({
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      issuer: `https://localhost:${port}/${TENANT_A}/v2.0`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
    });
    const cca = msalApp(fx, DAEMON, TENANT_A, { authority: base, knownAuthorities: [`localhost:${port}`], authorityMetadata: metadata });
    const err = await rejection(() => cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }));
    expect(err).toBeInstanceOf(MsalHttpError);
    expect(err.errorCode).toBe('network_error');
    expect((err.cause as { code?: string }).code).toBe('ECONNREFUSED');

    // Without authorityMetadata MSAL swallows the discovery failure; lastFailure still names it.
    const discovering = msalApp(fx, DAEMON, TENANT_A, { authority: base, knownAuthorities: [`localhost:${port}`] });
    const hidden = await rejection(() => discovering.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }));
    expect(hidden.errorCode).toBe('endpoints_resolution_error');
    expect(causeCode(fx.networkClient.lastFailure(base)?.error)).toBe('ECONNREFUSED');
  });

  it('untrusted CA (no caPem): a TLS error code', async () => {
    const plain = createMsalNetworkClient();
    try {
      const err = await rejection(() => plain.sendGetRequestAsync(`${fx.identity.url}/${TENANT_A}/v2.0/.well-known/openid-configuration`));
      expect(err).toMatchObject({ kind: 'tls', errorCode: 'network_error' });
      expect(causeCode(err)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    } finally {
      await plain.close();
    }
  });

  describe('misbehaving servers', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer({ cert: fx.pki.serverCertPem, key: fx.pki.serverKeyPem }, (req, res) => {
        if (req.url?.startsWith('/huge')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) }));
        } else {
          res.writeHead(502, { 'content-type': 'text/html' });
          res.end('<html><body>Bad Gateway</body></html>');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `https://localhost:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('refuses a response larger than maxResponseBytes', async () => {
      const err = await rejection(() => fx.networkClient.sendGetRequestAsync(`${url}/huge`));
      expect(err).toMatchObject({ kind: 'too_large' });
    });

    it('turns a non-JSON body into a clear token_parsing_error, which MSAL passes through', async () => {
      const direct = await rejection(() => fx.networkClient.sendPostRequestAsync(`${url}/token`, { body: 'a=b' }));
      expect(direct).toMatchObject({ kind: 'bad_response', errorCode: 'token_parsing_error', status: 502 });
      expect(direct.message).toContain('HTTP 502');
      expect(direct.message).toContain('<html><body>Bad Gateway');

      const metadata = JSON.stringify({
        token_endpoint: `${url}/t/oauth2/v2.0/token`,
        authorization_endpoint: `${url}/t/oauth2/v2.0/authorize`,
        end_session_endpoint: `${url}/t/oauth2/v2.0/logout`,
        issuer: `${url}/t/v2.0`,
        jwks_uri: `${url}/t/discovery/v2.0/keys`,
      });
      const cca = msalApp(fx, DAEMON, TENANT_A, { authority: `${url}/t`, knownAuthorities: [new URL(url).host], authorityMetadata: metadata });
      const viaMsal = await rejection(() => cca.acquireTokenByClientCredential({ scopes: [EXCHANGE_DEFAULT] }));
      expect(viaMsal).toBeInstanceOf(MsalHttpError);
      expect(viaMsal.errorCode).toBe('token_parsing_error');
    });
  });
});
