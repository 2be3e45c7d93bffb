/**
 * A local HTTPS imitation of the Microsoft identity platform (Entra ID v2
 * endpoints), faithful enough that @azure/msal-node talks to it unchanged:
 *
 *   const identity = await startIdentity({ pki });
 *   new ConfidentialClientApplication({ auth: { clientId, clientSecret,
 *     authority: identity.authority(tenantId), knownAuthorities: [identity.knownAuthority] },
 *     system: { networkClient: createMsalNetworkClient({ caPem: [pki.caCertPem] }) } });
 *
 * `knownAuthorities` is required: without it MSAL asks login.microsoftonline.com
 * for instance discovery and fails with endpoints_resolution_error.
 */
import type { AddressInfo } from 'node:net';
import type { SandboxPki, SigningKey } from '../pki.js';
import { catalogue, type AadstsEntry } from './aadsts.js';
import type { IdentityState } from './context.js';
import { Directory, type AppInput, type AppPatch, type TenantInput, type User, type UserInput } from './directory.js';
import { Faults, type HostileTokenAnswer, type InjectedError, type Outage } from './faults.js';
import { GrantStore } from './grant-store.js';
import { createIdentityHttpsServer, type RequestLogEntry } from './server.js';
import { createFederatedIssuer, type FederatedIssuer, type FederatedTokenInput } from './federated-issuer.js';
import type { CertificateRegistration, FederatedCredentialInput } from './directory.js';

export type { CertificateRegistration, FederatedCredentialInput, FederatedIssuer, FederatedTokenInput };
export { JWT_BEARER, TOKEN_EXCHANGE_AUDIENCE } from './client-assertion.js';
export type { AadstsEntry, AppInput, AppPatch, HostileTokenAnswer, InjectedError, Outage, RequestLogEntry, TenantInput, User, UserInput };
export { AADSTS, catalogue, entraError } from './aadsts.js';
export { APP_ONLY_SCOPE } from './scopes.js';
export { DEFAULT_DELEGATED_SCOPES } from './directory.js';

export interface IdentityServer {
  /** https://localhost:PORT */
  url: string;
  /** localhost:PORT, for MSAL's knownAuthorities. */
  knownAuthority: string;
  authority(tenant: string): string;
  addTenant(tenant: TenantInput): void;
  addApp(app: AppInput): void;
  /** Fields given replace the registered ones (secrets, appRoles, consentedTenants, …). */
  updateApp(clientId: string, patch: AppPatch): void;
  addUser(user: UserInput): User;
  /**
   * A token issuer the imitation trusts for federated credentials (a cluster's OIDC issuer);
   * an app trusts its tokens through `federatedCredentials: [{ issuer, subject }]`.
   */
  addFederatedIssuer(issuer: string): FederatedIssuer;
  /** Who authorize signs in; null (default): login_hint, else the tenant's first user. */
  signInAs(upn: string | null): void;
  /** When on, authorize and adminconsent answer error=access_denied (AADSTS65004) as if the user declined consent. */
  denyConsent(on: boolean): void;
  injectError(error: InjectedError): void;
  clearErrors(): void;
  setOutage(mode: Outage): void;
  /** The token endpoint answers this way (for one client, or all) until clearTokenAnswers(). */
  injectTokenAnswer(answer: HostileTokenAnswer): void;
  clearTokenAnswers(): void;
  /** The user's refresh tokens issued so far answer AADSTS50173. */
  revokeRefreshTokens(upn: string): void;
  /** The user's refresh tokens issued so far answer AADSTS700082. */
  expireRefreshTokens(upn: string): void;
  setAccessTokenLifetime(seconds: number): void;
  /** ID tokens are signed with this key, which the JWKS does not publish (a forged ID token); null: the published key again. */
  signIdTokensWith(key: SigningKey | null): void;
  /** Authorization codes issued so far become older by `ms` (AADSTS70008 past 10 minutes). */
  ageAuthCodes(ms: number): void;
  /** The app's service principal object id in a tenant (the `oid` of its app-only tokens). */
  servicePrincipalId(clientId: string, tenantId: string): string;
  /** Every request received, without secrets, oldest first. */
  requests: RequestLogEntry[];
  tokenRequests(filter?: { clientId?: string; grantType?: string }): number;
  catalogue(): AadstsEntry[];
  close(): Promise<void>;
}

export async function startIdentity(opts: { pki: SandboxPki; port?: number; host?: string }): Promise<IdentityServer> {
  const state: IdentityState = {
    baseUrl: '',
    pki: opts.pki,
    directory: new Directory(),
    grants: new GrantStore(),
    faults: new Faults(),
    accessTokenLifetimeSeconds: 3599,
    signInAs: null,
    denyConsent: false,
    federatedIssuers: new Map(),
  };
  const requests: RequestLogEntry[] = [];
  const server = createIdentityHttpsServer(state, requests);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // The certificate names localhost; 127.0.0.1 would fail hostname checks in some clients.
  state.baseUrl = `https://localhost:${port}`;

  return {
    url: state.baseUrl,
    knownAuthority: `localhost:${port}`,
    authority: (tenant) => `${state.baseUrl}/${tenant}`,
    addTenant: (t) => state.directory.addTenant(t),
    addApp: (a) => state.directory.addApp(a),
    updateApp: (clientId, patch) => state.directory.updateApp(clientId, patch),
    addUser: (u) => state.directory.addUser(u),
    addFederatedIssuer: (issuer) => {
      const made = createFederatedIssuer(issuer);
      state.federatedIssuers.set(issuer, made.publicKey);
      return made.issuer;
    },
    signInAs: (upn) => {
      state.signInAs = upn;
    },
    denyConsent: (on) => {
      state.denyConsent = on;
    },
    injectError: (e) => state.faults.inject(e),
    clearErrors: () => state.faults.clear(),
    setOutage: (mode) => {
      state.faults.outage = mode;
      // Kept-alive connections would otherwise still reach the request handler.
      if (mode?.kind === 'down') server.closeAllConnections();
    },
    injectTokenAnswer: (answer) => state.faults.injectTokenAnswer(answer),
    clearTokenAnswers: () => state.faults.clearTokenAnswers(),
    revokeRefreshTokens: (upn) => state.grants.revokeUser(upn),
    expireRefreshTokens: (upn) => state.grants.expireUser(upn),
    setAccessTokenLifetime: (seconds) => {
      state.accessTokenLifetimeSeconds = seconds;
    },
    signIdTokensWith: (key) => {
      state.idTokenSigningKey = key ?? undefined;
    },
    ageAuthCodes: (ms) => state.grants.ageCodes(ms),
    servicePrincipalId: (clientId, tenantId) => {
      const app = state.directory.app(clientId);
      if (!app) throw new Error(`no app ${clientId}`);
      return state.directory.servicePrincipalId(app, tenantId);
    },
    requests,
    tokenRequests: (filter = {}) =>
      requests.filter(
        (r) =>
          r.method === 'POST' &&
          r.path.endsWith('/oauth2/v2.0/token') &&
          (!filter.clientId || r.clientId?.toLowerCase() === filter.clientId.toLowerCase()) &&
          (!filter.grantType || r.grantType === filter.grantType),
      ).length,
    catalogue,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
