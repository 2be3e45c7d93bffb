/**
 * GET /{tenant}/oauth2/v2.0/authorize with an automatic sign-in: no login
 * form, the user is chosen by signInAs(), else login_hint, else the first
 * user of the tenant (of the app's home tenant for common/organizations).
 *
 * As on Entra, errors found before the redirect URI is trusted (unknown
 * tenant or app, redirect URI not registered) are shown as an HTML error
 * page (HTTP 400) instead of a redirect; later errors go back to the app as
 * `error`/`error_description` on the redirect URI. Sign-in implies user
 * consent for the user's tenant unless denyConsent(true) is set. PKCE with
 * S256 is required here (Entra only requires it for public clients).
 */
import { randomUUID } from 'node:crypto';
import { entraError, type ErrorParams } from './aadsts.js';
import { clientInfo, escapeHtml, type IdentityState, type Incoming, type Reply } from './context.js';
import type { App, TenantRef, User } from './directory.js';
import { checkDelegatedScopes, grantDelegated, parseScopes } from './scopes.js';

export function errorPage(state: IdentityState, incoming: Incoming, code: number, params: ErrorParams): Reply {
  const { status, body } = entraError(code, params, { baseUrl: state.baseUrl, correlationId: incoming.correlationId });
  const [message] = body.error_description.split('\r\n');
  const html = `<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p id="error">${escapeHtml(message ?? '')}</p>
<p>Request Id: ${body.trace_id}<br>Correlation Id: ${body.correlation_id}<br>Timestamp: ${body.timestamp}</p>
</body></html>`;
  return { kind: 'html', status, html };
}

/** Sends parameters back to the redirect URI in the requested response mode. */
export function backToApp(redirectUri: string, mode: string, params: Record<string, string>): Reply {
  if (mode === 'form_post') {
    const inputs = Object.entries(params)
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('');
    const html = `<!DOCTYPE html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()">
<form method="POST" action="${escapeHtml(redirectUri)}">${inputs}<noscript><input type="submit" value="Continue"></noscript></form></body></html>`;
    return { kind: 'html', status: 200, html };
  }
  const url = new URL(redirectUri);
  const encoded = new URLSearchParams(params);
  if (mode === 'fragment') url.hash = encoded.toString();
  else for (const [k, v] of encoded) url.searchParams.append(k, v);
  return { kind: 'redirect', location: url.toString() };
}

function pickUser(state: IdentityState, app: App, ref: TenantRef, loginHint: string | null): { user?: User; wanted: string } {
  const wanted = state.signInAs ?? loginHint;
  if (wanted) return { user: state.directory.user(wanted), wanted };
  const tenantId = ref.kind === 'tenant' ? ref.tenant.id : app.homeTenantId;
  return { user: state.directory.firstUserOf(tenantId), wanted: '' };
}

export function handleAuthorize(state: IdentityState, incoming: Incoming): Reply {
  const q = incoming.query;
  const segment = incoming.tenantSegment;
  const page = (code: number, params: ErrorParams) => errorPage(state, incoming, code, params);

  const ref = state.directory.resolveTenant(segment);
  if (!ref) return page(90002, { tenant: segment });
  const clientId = q.get('client_id');
  if (!clientId) return page(90014, { field: 'client_id' });
  const app = state.directory.app(clientId);
  if (!app) return page(700016, { clientId, tenant: segment });
  const appParams = { clientId: app.clientId, appName: app.displayName, tenant: segment };
  if (ref.kind === 'tenant' && !app.multiTenant && ref.tenant.id.toLowerCase() !== app.homeTenantId.toLowerCase()) {
    return page(700016, appParams);
  }
  if (app.redirectUris.length === 0) return page(500113, appParams);
  const redirectUri = q.get('redirect_uri');
  if (!redirectUri) return page(90014, { field: 'redirect_uri' });
  if (!app.redirectUris.includes(redirectUri)) return page(50011, { ...appParams, redirectUri });

  // The redirect URI is trusted from here on: errors go back to the app.
  const appState = q.get('state');
  const mode = q.get('response_mode') ?? 'query';
  const back = (code: number, params: ErrorParams, extra: Record<string, string> = {}): Reply => {
    const { body } = entraError(code, params, { baseUrl: state.baseUrl, correlationId: incoming.correlationId });
    return backToApp(redirectUri, mode, {
      error: body.error,
      ...extra,
      error_description: body.error_description,
      error_uri: body.error_uri,
      ...(appState !== null ? { state: appState } : {}),
    });
  };

  const injected = state.faults.take({
    endpoint: 'authorize',
    clientId: app.clientId,
    tenantSegment: segment,
    tenantId: ref.kind === 'tenant' ? ref.tenant.id : undefined,
  });
  if (injected !== undefined) return back(injected, { ...appParams, redirectUri });
  if (ref.kind !== 'tenant' && !app.multiTenant) return back(50194, appParams);

  const responseType = q.get('response_type');
  if (!responseType) return back(90014, { field: 'response_type' });
  if (responseType !== 'code') return back(700054, { responseType });
  const requested = parseScopes(q.get('scope'));
  if (requested.length === 0) return back(90014, { field: 'scope' });
  const check = checkDelegatedScopes(requested);
  if (!check.ok) return back(check.aadsts, { scope: check.scope });
  const challenge = q.get('code_challenge');
  if (!challenge) return back(90014, { field: 'code_challenge' });
  if ((q.get('code_challenge_method') ?? 'plain') !== 'S256') return back(50149, {});

  const { user, wanted } = pickUser(state, app, ref, q.get('login_hint'));
  if (!user) return page(50034, { upn: wanted || '(none)', tenant: segment });
  if (ref.kind === 'tenant' && user.tenantId.toLowerCase() !== ref.tenant.id.toLowerCase()) {
    return back(50020, { ...appParams, upn: user.upn, tenant: ref.tenant.id });
  }
  if (state.denyConsent) return back(65004, {}, { error_subcode: 'cancel' });
  // Signing in grants user consent (delegated permissions) for the user's tenant.
  state.directory.recordUserConsent(app, user.tenantId);

  const code = state.grants.issueCode({
    clientId: app.clientId,
    redirectUri,
    codeChallenge: challenge,
    nonce: q.get('nonce') ?? undefined,
    scopes: [...check.oidc, ...grantDelegated(app, check.resourceScopes)],
    upn: user.upn,
    tenantId: user.tenantId,
  });
  return backToApp(redirectUri, mode, {
    code,
    ...(q.get('client_info') === '1' ? { client_info: clientInfo(user.oid, user.tenantId) } : {}),
    ...(appState !== null ? { state: appState } : {}),
    session_state: randomUUID(),
  });
}
