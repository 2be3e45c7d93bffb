/**
 * The token endpoint's first steps, in Entra's order: the tenant in the path,
 * the application, then its credential: a client assertion (certificate or
 * federated, client-assertion.ts) when one is sent, else the client secret.
 */
import type { App, TenantRef } from './directory.js';
import { checkClientAssertion } from './client-assertion.js';
import { errorReply, type IdentityState, type Incoming, type Reply } from './context.js';

export type ClientAuth = { ok: true; app: App; ref: TenantRef } | { ok: false; reply: Reply };

export async function authenticateClient(state: IdentityState, incoming: Incoming, grantType: string): Promise<ClientAuth> {
  const fail = (code: number, params: Parameters<typeof errorReply>[2]): ClientAuth => ({
    ok: false,
    reply: errorReply(state, code, params, incoming),
  });
  const segment = incoming.tenantSegment;
  const ref = state.directory.resolveTenant(segment);
  if (!ref) return fail(90002, { tenant: segment });

  // App-only tokens need a tenant: Entra refuses /common and /organizations (AADSTS50059).
  if (grantType === 'client_credentials' && ref.kind !== 'tenant') return fail(50059, {});

  const clientId = incoming.form.get('client_id');
  if (!clientId) return fail(90014, { field: 'client_id' });
  const app = state.directory.app(clientId);
  if (!app) return fail(700016, { clientId, tenant: segment });
  const params = { clientId: app.clientId, appName: app.displayName, tenant: segment };

  if (ref.kind === 'tenant') {
    // A single-tenant app does not exist in any other directory.
    if (!app.multiTenant && ref.tenant.id.toLowerCase() !== app.homeTenantId.toLowerCase()) return fail(700016, params);
  } else if (!app.multiTenant) {
    return fail(50194, params);
  }

  if (incoming.form.has('client_assertion') || incoming.form.has('client_assertion_type')) {
    // The assertion's audience is the token endpoint of the tenant in the path (by id or domain).
    const endpoints = [segment, ...(ref.kind === 'tenant' ? [ref.tenant.id] : [])].map((t) => `${state.baseUrl}/${t}/oauth2/v2.0/token`.toLowerCase());
    const check = await checkClientAssertion(state, app, incoming.form, endpoints);
    return check.ok ? { ok: true, app, ref } : fail(check.aadsts, { ...params, ...check.params });
  }
  const secret = incoming.form.get('client_secret');
  if (!secret) return fail(7000218, params);
  const match = app.secrets.find((s) => s.value === secret);
  // Wrong value and "pasted the Secret ID" look the same to Entra: 7000215.
  if (!match) return fail(7000215, params);
  if (match.expiresAt && match.expiresAt.getTime() <= Date.now()) return fail(7000222, params);
  return { ok: true, app, ref };
}
