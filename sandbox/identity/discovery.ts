/**
 * Metadata endpoints: OpenID configuration, JWKS and instance discovery,
 * shaped as login.microsoftonline.com serves them.
 *
 * For a tenant id or verified domain the endpoints and issuer name the
 * tenant id; for `common`/`organizations` the endpoints keep the alias and
 * the issuer carries the literal `{tenantid}` template, as Entra does (MSAL
 * only checks that the issuer's scheme and host match the authority's).
 */
import { createPublicKey } from 'node:crypto';
import type { SigningKey } from '../pki.js';
import type { TenantRef } from './directory.js';

export function openidConfiguration(baseUrl: string, ref: TenantRef): Record<string, unknown> {
  const pathTenant = ref.kind === 'tenant' ? ref.tenant.id : ref.segment.toLowerCase();
  const issuerTenant = ref.kind === 'tenant' ? ref.tenant.id : '{tenantid}';
  const base = `${baseUrl}/${pathTenant}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${baseUrl}/${issuerTenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host',
      'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email',
    ],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: ref.kind === 'tenant' ? 'EU' : null,
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

export function jwks(baseUrl: string, key: SigningKey, ref: TenantRef): { keys: Record<string, unknown>[] } {
  const jwk = createPublicKey(key.publicKeyPem).export({ format: 'jwk' });
  const issuerTenant = ref.kind === 'tenant' ? ref.tenant.id : '{tenantid}';
  return {
    keys: [{ kty: 'RSA', use: 'sig', kid: key.kid, n: jwk.n, e: jwk.e, issuer: `${baseUrl}/${issuerTenant}/v2.0` }],
  };
}

/**
 * `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=…`.
 * MSAL sends this to login.microsoftonline.com, never to us, unless told
 * otherwise; answered anyway so a client pointed here gets Entra's shape.
 */
export function instanceDiscovery(baseUrl: string, query: URLSearchParams): Record<string, unknown> {
  const host = new URL(baseUrl).host;
  const endpoint = query.get('authorization_endpoint') ?? `${baseUrl}/common/oauth2/v2.0/authorize`;
  let tenant = 'common';
  try {
    tenant = new URL(endpoint).pathname.split('/')[1] || 'common';
  } catch {
    // keep common
  }
  return {
    tenant_discovery_endpoint: `${baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}
