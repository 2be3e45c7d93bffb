/**
 * GET /{tenant}/v2.0/adminconsent (and the v1 /{tenant}/adminconsent): the
 * admin consent endpoint, with an automatic sign-in like authorize (the user
 * of signInAs(), else the first user of the tenant, of the app's home tenant
 * for organizations/common) and an automatic Accept.
 *
 * As on Entra: an unknown tenant or app, or a redirect URI not registered,
 * is an HTML error page; otherwise the answer goes back to the redirect URI:
 * `admin_consent=True&tenant=<the user's tenant id>&state&scope` for an
 * administrator (the app is then consented in that tenant, so client
 * credentials work there), `error=access_denied` with AADSTS90094 for a user
 * who is no administrator, AADSTS65004 when denyConsent(true) is set (the
 * administrator declined), or any AADSTS code injected with
 * `injectError({ endpoint: 'adminconsent', aadsts })`.
 */
import { entraError, type ErrorParams } from './aadsts.js';
import { backToApp, errorPage } from './authorize.js';
import type { IdentityState, Incoming, Reply } from './context.js';

export function handleAdminConsent(state: IdentityState, incoming: Incoming): Reply {
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
  if (app.redirectUris.length === 0) return page(500113, appParams);
  const redirectUri = q.get('redirect_uri');
  if (!redirectUri) return page(90014, { field: 'redirect_uri' });
  if (!app.redirectUris.includes(redirectUri)) return page(50011, { ...appParams, redirectUri });

  const appState = q.get('state');
  const back = (code: number, params: ErrorParams): Reply => {
    const { body } = entraError(code, params, { baseUrl: state.baseUrl, correlationId: incoming.correlationId });
    return backToApp(redirectUri, 'query', {
      error: body.error,
      error_description: body.error_description,
      ...(appState !== null ? { state: appState } : {}),
    });
  };
  const injected = state.faults.take({ endpoint: 'adminconsent', clientId: app.clientId, tenantSegment: segment, tenantId: ref.kind === 'tenant' ? ref.tenant.id : undefined });
  if (injected !== undefined) return back(injected, { ...appParams, redirectUri });
  // Consent for another organisation than the app's own needs a multi-tenant app.
  const tenantOf = ref.kind === 'tenant' ? ref.tenant.id : undefined;
  const wanted = state.signInAs;
  const user = wanted ? state.directory.user(wanted) : state.directory.firstUserOf(tenantOf ?? app.homeTenantId);
  if (!user) return page(50034, { upn: wanted ?? '(none)', tenant: segment });
  if (tenantOf !== undefined && user.tenantId.toLowerCase() !== tenantOf.toLowerCase()) {
    return back(50020, { ...appParams, upn: user.upn, tenant: tenantOf });
  }
  if (!app.multiTenant && user.tenantId.toLowerCase() !== app.homeTenantId.toLowerCase()) return back(700016, { ...appParams, tenant: user.tenantId });
  if (!user.admin) return back(90094, appParams);
  if (state.denyConsent) return back(65004, {});
  state.directory.recordAdminConsent(app, user.tenantId);
  return backToApp(redirectUri, 'query', {
    admin_consent: 'True',
    tenant: user.tenantId,
    ...(appState !== null ? { state: appState } : {}),
    scope: q.get('scope') ?? '',
  });
}
