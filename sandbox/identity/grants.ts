/**
 * POST /{tenant}/oauth2/v2.0/token: client_credentials, authorization_code
 * (with PKCE S256) and refresh_token, answering as Entra's v2 endpoint.
 */
import { createHash } from 'node:crypto';
import { mintAppToken, mintIdToken, mintUserToken } from '../tokens.js';
import { authenticateClient } from './client-auth.js';
import { clientInfo, errorReply, v2Issuer, type IdentityState, type Incoming, type Reply } from './context.js';
import type { App, User } from './directory.js';
import { checkDelegatedScopes, grantDelegated, isAppOnlyScopeValid, OIDC_SCOPES, parseScopes, scpOf } from './scopes.js';

const GRANT_TYPES = new Set(['client_credentials', 'authorization_code', 'refresh_token']);

function json(body: object): Reply {
  return { kind: 'json', status: 200, body };
}

export async function handleToken(state: IdentityState, incoming: Incoming): Promise<Reply> {
  const { form, tenantSegment } = incoming;
  const grantType = form.get('grant_type') ?? undefined;
  const clientId = form.get('client_id') ?? undefined;
  const ref = state.directory.resolveTenant(tenantSegment);
  const injected = state.faults.take({
    endpoint: 'token',
    clientId,
    tenantSegment,
    tenantId: ref?.kind === 'tenant' ? ref.tenant.id : undefined,
    grantType,
  });
  if (injected !== undefined) {
    return errorReply(state, injected, { clientId, tenant: tenantSegment, grantType, field: 'client_id', scope: form.get('scope') ?? undefined }, incoming);
  }
  if (!ref) return errorReply(state, 90002, { tenant: tenantSegment }, incoming);
  if (!grantType) return errorReply(state, 90014, { field: 'grant_type' }, incoming);
  if (!GRANT_TYPES.has(grantType)) return errorReply(state, 70003, { grantType }, incoming);

  const auth = await authenticateClient(state, incoming, grantType);
  if (!auth.ok) return auth.reply;
  const { app } = auth;
  if (grantType === 'client_credentials') {
    // authenticateClient refused the multi-tenant aliases for this grant.
    const tenantId = auth.ref.kind === 'tenant' ? auth.ref.tenant.id : '';
    return clientCredentials(state, incoming, app, tenantId);
  }
  if (grantType === 'authorization_code') return authorizationCode(state, incoming, app);
  return refreshToken(state, incoming, app);
}

async function clientCredentials(state: IdentityState, incoming: Incoming, app: App, tenantId: string): Promise<Reply> {
  const scope = incoming.form.get('scope');
  if (!scope) return errorReply(state, 90014, { field: 'scope' }, incoming);
  if (!isAppOnlyScopeValid(scope)) return errorReply(state, 70011, { scope }, incoming);
  if (!state.directory.hasAdminConsent(app, tenantId)) {
    // No consent at all in a customer tenant: no service principal there (Entra's AADSTS7000229). A user's
    // consent creates one, but grants no application permissions: then consent is what is missing.
    if (!state.directory.hasServicePrincipal(app, tenantId)) return errorReply(state, 7000229, { clientId: app.clientId, tenant: tenantId }, incoming);
    return errorReply(state, 65001, { clientId: app.clientId, appName: app.displayName }, incoming);
  }
  const lifetime = state.accessTokenLifetimeSeconds;
  const accessToken = await mintAppToken(state.pki.signingKey, {
    tenantId,
    clientId: app.clientId,
    roles: app.appRoles,
    servicePrincipalId: state.directory.servicePrincipalId(app, tenantId),
    lifetimeSeconds: lifetime,
  });
  return json({ token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken });
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

async function authorizationCode(state: IdentityState, incoming: Incoming, app: App): Promise<Reply> {
  const { form } = incoming;
  const fail = (code: number, params: Parameters<typeof errorReply>[2] = {}) => errorReply(state, code, params, incoming);
  const code = form.get('code');
  if (!code) return fail(90014, { field: 'code' });
  const record = state.grants.findCode(code);
  if (!record) return fail(9002313);
  if (record.clientId.toLowerCase() !== app.clientId.toLowerCase()) return fail(70000);
  if (record.redeemed) return fail(54005);
  if (state.grants.isCodeExpired(record)) return fail(70008);
  const redirectUri = form.get('redirect_uri');
  if (!redirectUri) return fail(90014, { field: 'redirect_uri' });
  if (!app.redirectUris.includes(redirectUri)) return fail(50011, { redirectUri, clientId: app.clientId });
  if (redirectUri !== record.redirectUri) return fail(500112, { redirectUri, codeRedirectUri: record.redirectUri });
  const verifier = form.get('code_verifier');
  if (!verifier) return fail(90014, { field: 'code_verifier' });
  if (s256(verifier) !== record.codeChallenge) return fail(501481);
  const user = state.directory.user(record.upn);
  if (!user) return fail(70000);
  record.redeemed = true; // before any await: a concurrent replay must see it
  return userTokens(state, incoming, app, user, record.scopes, record.nonce);
}

async function refreshToken(state: IdentityState, incoming: Incoming, app: App): Promise<Reply> {
  const { form } = incoming;
  const fail = (code: number, params: Parameters<typeof errorReply>[2] = {}) => errorReply(state, code, params, incoming);
  const token = form.get('refresh_token');
  if (!token) return fail(90014, { field: 'refresh_token' });
  const grant = state.grants.findRefreshToken(token);
  if (!grant) return fail(9002313);
  if (grant.clientId.toLowerCase() !== app.clientId.toLowerCase()) return fail(70000);
  if (grant.revokedAt) {
    return fail(50173, { issuedAt: grant.issuedAt.toISOString(), validFrom: grant.revokedAt.toISOString() });
  }
  if (grant.expired) return fail(700082, { issuedAt: grant.issuedAt.toISOString() });
  const user = state.directory.user(grant.upn);
  if (!user) return fail(70000);
  if (!state.directory.hasDelegatedConsent(app, user.tenantId)) return fail(65001, { clientId: app.clientId, appName: app.displayName });
  const requested = parseScopes(form.get('scope'));
  let scopes = grant.scopes;
  if (requested.length > 0) {
    const check = checkDelegatedScopes(requested);
    if (!check.ok) return fail(check.aadsts, { scope: check.scope });
    scopes = [...check.oidc, ...grantDelegated(app, check.resourceScopes)];
  }
  return userTokens(state, incoming, app, user, scopes, undefined);
}

/** The delegated token response: access, refresh and ID tokens plus client_info. */
async function userTokens(
  state: IdentityState,
  incoming: Incoming,
  app: App,
  user: User,
  scopes: string[],
  nonce: string | undefined,
): Promise<Reply> {
  const lifetime = state.accessTokenLifetimeSeconds;
  const lower = new Set(scopes.map((s) => s.toLowerCase()));
  const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s.toLowerCase()));
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: [...resourceScopes, ...['openid', 'profile', 'email'].filter((s) => lower.has(s))].join(' '),
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: await mintUserToken(state.pki.signingKey, {
      tenantId: user.tenantId,
      clientId: app.clientId,
      scopes: scpOf(resourceScopes),
      upn: user.upn,
      oid: user.oid,
      name: user.name,
      lifetimeSeconds: lifetime,
    }),
  };
  if (lower.has('offline_access')) {
    body.refresh_token = state.grants.issueRefreshToken({ clientId: app.clientId, upn: user.upn, tenantId: user.tenantId, scopes });
  }
  if (lower.has('openid')) {
    body.id_token = await mintIdToken(state.idTokenSigningKey ?? state.pki.signingKey, {
      issuer: v2Issuer(state.baseUrl, user.tenantId),
      tenantId: user.tenantId,
      clientId: app.clientId,
      oid: user.oid,
      email: user.email,
      preferredUsername: user.upn,
      name: user.name,
      nonce,
    });
  }
  if (incoming.form.get('client_info') === '1') body.client_info = clientInfo(user.oid, user.tenantId);
  return json(body);
}
