/**
 * A started identity imitation with a small directory, and helpers to drive
 * the real MSAL Node against it (confidential clients, interactive sign-in
 * by following the authorize redirect).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';
import type { Configuration } from '@azure/msal-node';
import { Agent, request } from 'undici';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { startIdentity, type IdentityServer } from '../../sandbox/identity/index.js';
import { createMsalNetworkClient, type MsalNetworkClient } from '../../src/adapters/msal/network-client.js';

export const TENANT_A = 'aaaaaaaa-0000-4000-8000-00000000000a';
export const TENANT_B = 'bbbbbbbb-0000-4000-8000-00000000000b';
export const EXCHANGE_DEFAULT = 'https://outlook.office365.com/.default';
export const USER_SCOPES = ['https://outlook.office.com/IMAP.AccessAsUser.All', 'https://outlook.office.com/SMTP.Send'];
export const REDIRECT = 'https://mailsync.example/oauth/callback';
export const OTHER_REDIRECT = 'https://mailsync.example/oauth/other';

export const DAEMON = { clientId: 'd0000000-0000-4000-8000-000000000001', secret: 'daemon-secret-value', secretId: 'daemon-secret-id' };
export const WEB = { clientId: 'e0000000-0000-4000-8000-000000000002', secret: 'web-secret-value' };
export const MULTI = { clientId: 'f0000000-0000-4000-8000-000000000003', secret: 'multi-secret-value' };
export const NO_REDIRECT = { clientId: 'c0000000-0000-4000-8000-000000000004', secret: 'nr-secret-value' };
export const ALICE = 'alice@contoso.example';
export const BOB = 'bob@fabrikam.example';

export interface IdentityFixture {
  pki: SandboxPki;
  identity: IdentityServer;
  networkClient: MsalNetworkClient;
  /** Undici agent trusting the test CA, for following authorize redirects. */
  browser: Agent;
  close(): Promise<void>;
}

export async function startIdentityFixture(): Promise<IdentityFixture> {
  const pki = await loadOrCreatePki(await mkdtemp(join(tmpdir(), 'mailsync-pki-')));
  const identity = await startIdentity({ pki });
  identity.addTenant({ id: TENANT_A, domains: ['contoso.example'] });
  identity.addTenant({ id: TENANT_B, domains: ['fabrikam.example'] });
  identity.addApp({
    clientId: DAEMON.clientId,
    homeTenantId: TENANT_A,
    secrets: [
      { id: DAEMON.secretId, value: DAEMON.secret },
      { id: 'expired-secret-id', value: 'expired-secret-value', expiresAt: new Date(Date.now() - 86_400_000) },
    ],
    appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'],
  });
  identity.addApp({ clientId: WEB.clientId, homeTenantId: TENANT_A, secrets: [{ id: 'w', value: WEB.secret }], redirectUris: [REDIRECT, OTHER_REDIRECT] });
  identity.addApp({
    clientId: MULTI.clientId,
    homeTenantId: TENANT_A,
    multiTenant: true,
    secrets: [{ id: 'm', value: MULTI.secret }],
    redirectUris: [REDIRECT],
    appRoles: ['IMAP.AccessAsApp'],
  });
  identity.addApp({ clientId: NO_REDIRECT.clientId, homeTenantId: TENANT_A, secrets: [{ id: 'n', value: NO_REDIRECT.secret }] });
  identity.addUser({ upn: ALICE, tenantId: TENANT_A, name: 'Alice' });
  identity.addUser({ upn: BOB, tenantId: TENANT_B, name: 'Bob' });
  const networkClient = createMsalNetworkClient({ caPem: [pki.caCertPem] });
  const browser = new Agent({ connect: { ca: [...rootCertificates, pki.caCertPem] } });
  return {
    pki,
    identity,
    networkClient,
    browser,
    close: async () => {
      await networkClient.close();
      await browser.close();
      await identity.close();
    },
  };
}

export function msalApp(
  fx: IdentityFixture,
  app: { clientId: string; secret: string },
  tenant: string,
  extra: Partial<Configuration['auth']> = {},
): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: app.clientId,
      clientSecret: app.secret,
      authority: fx.identity.authority(tenant),
      knownAuthorities: [fx.identity.knownAuthority],
      ...extra,
    },
    system: { networkClient: fx.networkClient },
  });
}

export interface SignInResult {
  status: number;
  location: URL | undefined;
  html: string;
  verifier: string;
  nonce: string;
  state: string;
}

/** getAuthCodeUrl with PKCE, then one GET of the authorize URL as a browser would. */
export async function signIn(
  fx: IdentityFixture,
  cca: ConfidentialClientApplication,
  opts: { scopes?: string[]; redirectUri?: string; loginHint?: string; pkce?: boolean } = {},
): Promise<SignInResult> {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const nonce = `nonce-${Math.random().toString(36).slice(2)}`;
  const state = `state-${Math.random().toString(36).slice(2)}`;
  const url = await cca.getAuthCodeUrl({
    scopes: opts.scopes ?? USER_SCOPES,
    redirectUri: opts.redirectUri ?? REDIRECT,
    ...(opts.pkce === false ? {} : { codeChallenge: challenge, codeChallengeMethod: 'S256' }),
    nonce,
    state,
    ...(opts.loginHint ? { loginHint: opts.loginHint } : {}),
  });
  const res = await request(url, { dispatcher: fx.browser });
  const html = await res.body.text();
  const location = typeof res.headers.location === 'string' ? new URL(res.headers.location) : undefined;
  return { status: res.statusCode, location, html, verifier, nonce, state };
}

/** Signs in and redeems the code with acquireTokenByCode. */
export async function signInAndRedeem(
  fx: IdentityFixture,
  cca: ConfidentialClientApplication,
  opts: { scopes?: string[]; loginHint?: string } = {},
) {
  const scopes = opts.scopes ?? USER_SCOPES;
  const signed = await signIn(fx, cca, { scopes, ...(opts.loginHint ? { loginHint: opts.loginHint } : {}) });
  const code = signed.location?.searchParams.get('code');
  if (!code) throw new Error(`no code in redirect: ${signed.location?.toString() ?? signed.html}`);
  const result = await cca.acquireTokenByCode({
    code,
    scopes,
    redirectUri: REDIRECT,
    codeVerifier: signed.verifier,
    nonce: signed.nonce,
    state: signed.state,
  });
  return { signed, code, result };
}

/** The refresh token MSAL cached (for acquireTokenByRefreshToken). */
export function cachedRefreshToken(cca: ConfidentialClientApplication): string {
  const cache = JSON.parse(cca.getTokenCache().serialize()) as { RefreshToken: Record<string, { secret: string }> };
  const entry = Object.values(cache.RefreshToken)[0];
  if (!entry) throw new Error('no refresh token in the MSAL cache');
  return entry.secret;
}

/** A raw form POST to the token endpoint, for requests MSAL would never send. */
export async function rawTokenPost(fx: IdentityFixture, tenant: string, form: Record<string, string>, contentType = 'application/x-www-form-urlencoded') {
  const res = await request(`${fx.identity.url}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    dispatcher: fx.browser,
    headers: { 'content-type': contentType },
    body: contentType.includes('json') ? JSON.stringify(form) : new URLSearchParams(form).toString(),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}
