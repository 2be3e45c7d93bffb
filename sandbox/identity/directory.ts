/**
 * The imitation's directory: tenants (id + verified domains), app
 * registrations (secrets, redirect URIs, granted permissions, the tenants
 * that consented) and users. Plain in-memory maps; tests drive it through
 * the IdentityServer API.
 */
import { createHash, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';

export const EXCHANGE_SCOPE_RESOURCE = 'https://outlook.office.com';
export const DEFAULT_DELEGATED_SCOPES = [
  `${EXCHANGE_SCOPE_RESOURCE}/IMAP.AccessAsUser.All`,
  `${EXCHANGE_SCOPE_RESOURCE}/SMTP.Send`,
];

export interface TenantInput {
  id: string;
  domains?: string[];
}

export interface SecretInput {
  /** The "Secret ID" the portal shows next to the value (pasting it is a classic mistake). */
  id: string;
  value: string;
  expiresAt?: Date;
}

/** A certificate uploaded under Certificates & secrets: its public part only. */
export interface CertificateRegistration {
  /** The certificate, PEM. */
  pem: string;
  /** The key credential's end date; default: the certificate's notAfter. */
  expiresAt?: Date;
}

/** A federated identity credential: tokens of this issuer and subject, for this audience, are the app's assertion. */
export interface FederatedCredentialInput {
  issuer: string;
  subject: string;
  /** Default ['api://AzureADTokenExchange']. */
  audiences?: string[];
}

export interface RegisteredCertificate {
  /** base64url SHA-1 and SHA-256 of the DER: the `x5t` and `x5t#S256` an assertion names it by. */
  x5t: string;
  x5tS256: string;
  /** SHA-1, upper-case hex, as Entra's error texts name keys. */
  thumbprint: string;
  publicKey: KeyObject;
  startsAt: Date;
  expiresAt: Date;
}

export function registerCertificate(input: CertificateRegistration): RegisteredCertificate {
  const cert = new X509Certificate(input.pem);
  return {
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
    thumbprint: createHash('sha1').update(cert.raw).digest('hex').toUpperCase(),
    publicKey: cert.publicKey,
    startsAt: new Date(cert.validFrom),
    expiresAt: input.expiresAt ?? new Date(cert.validTo),
  };
}

export interface AppInput {
  clientId: string;
  homeTenantId: string;
  displayName?: string;
  multiTenant?: boolean;
  secrets: SecretInput[];
  redirectUris?: string[];
  /** Granted application permissions (the `roles` claim), e.g. IMAP.AccessAsApp, SMTP.SendAsApp. */
  appRoles?: string[];
  /** Tenants whose admin granted consent (app-only and delegated); default: the home tenant. */
  consentedTenants?: string[];
  /** Delegated permissions, fully qualified (https://outlook.office.com/IMAP.AccessAsUser.All). */
  delegatedScopes?: string[];
  /** Certificates & secrets → Certificates. */
  certificates?: CertificateRegistration[];
  /** Certificates & secrets → Federated credentials. */
  federatedCredentials?: FederatedCredentialInput[];
}

/**
 * Fields given replace the registered ones. Setting consentedTenants also
 * forgets the user consents recorded by sign-ins (consent withdrawn).
 */
export type AppPatch = Partial<Omit<AppInput, 'clientId'>>;

export interface UserInput {
  /** Unique in the directory at a time; adding a user under a UPN in use replaces that user (a new account, a new oid). */
  upn: string;
  oid?: string;
  tenantId: string;
  name?: string;
  /**
   * The `mail` attribute, which ID tokens carry as `email`. As on Entra, nothing checks it: an
   * administrator may set any address, another user's included. Default: the UPN.
   */
  email?: string;
  /** May grant admin consent for the tenant (a Global or Cloud Application Administrator); default false. */
  admin?: boolean;
}

export interface Tenant {
  id: string;
  domains: string[];
}

export interface App {
  clientId: string;
  homeTenantId: string;
  displayName: string;
  multiTenant: boolean;
  secrets: SecretInput[];
  redirectUris: string[];
  appRoles: string[];
  consentedTenants: Set<string>;
  /** Tenants where a user consented at sign-in: delegated permissions only, never app roles. */
  userConsentedTenants: Set<string>;
  delegatedScopes: string[];
  certificates: RegisteredCertificate[];
  federatedCredentials: FederatedCredentialInput[];
}

export interface User {
  upn: string;
  oid: string;
  tenantId: string;
  name: string;
  email: string;
  admin: boolean;
}

/** A path's first segment resolved: a real tenant, or one of the multi-tenant aliases. */
export type TenantRef =
  | { kind: 'tenant'; segment: string; tenant: Tenant }
  | { kind: 'common' | 'organizations'; segment: string };

export class Directory {
  private readonly tenants = new Map<string, Tenant>();
  private readonly apps = new Map<string, App>();
  private readonly users = new Map<string, User>();

  addTenant(input: TenantInput): void {
    this.tenants.set(input.id.toLowerCase(), { id: input.id, domains: (input.domains ?? []).map((d) => d.toLowerCase()) });
  }

  addApp(input: AppInput): void {
    this.apps.set(input.clientId.toLowerCase(), {
      clientId: input.clientId,
      homeTenantId: input.homeTenantId,
      displayName: input.displayName ?? 'mailsync',
      multiTenant: input.multiTenant ?? false,
      secrets: [...input.secrets],
      redirectUris: [...(input.redirectUris ?? [])],
      appRoles: [...(input.appRoles ?? [])],
      consentedTenants: new Set((input.consentedTenants ?? [input.homeTenantId]).map((t) => t.toLowerCase())),
      userConsentedTenants: new Set(),
      delegatedScopes: [...(input.delegatedScopes ?? DEFAULT_DELEGATED_SCOPES)],
      certificates: (input.certificates ?? []).map(registerCertificate),
      federatedCredentials: [...(input.federatedCredentials ?? [])],
    });
  }

  updateApp(clientId: string, patch: AppPatch): void {
    const app = this.app(clientId);
    if (!app) throw new Error(`no app ${clientId}`);
    if (patch.homeTenantId !== undefined) app.homeTenantId = patch.homeTenantId;
    if (patch.displayName !== undefined) app.displayName = patch.displayName;
    if (patch.multiTenant !== undefined) app.multiTenant = patch.multiTenant;
    if (patch.secrets !== undefined) app.secrets = [...patch.secrets];
    if (patch.redirectUris !== undefined) app.redirectUris = [...patch.redirectUris];
    if (patch.appRoles !== undefined) app.appRoles = [...patch.appRoles];
    if (patch.consentedTenants !== undefined) {
      app.consentedTenants = new Set(patch.consentedTenants.map((t) => t.toLowerCase()));
      app.userConsentedTenants = new Set();
    }
    if (patch.delegatedScopes !== undefined) app.delegatedScopes = [...patch.delegatedScopes];
    if (patch.certificates !== undefined) app.certificates = patch.certificates.map(registerCertificate);
    if (patch.federatedCredentials !== undefined) app.federatedCredentials = [...patch.federatedCredentials];
  }

  addUser(input: UserInput): User {
    const user: User = {
      upn: input.upn,
      oid: input.oid ?? randomUUID(),
      tenantId: input.tenantId,
      name: input.name ?? input.upn.split('@')[0] ?? input.upn,
      email: input.email ?? input.upn,
      admin: input.admin ?? false,
    };
    this.users.set(input.upn.toLowerCase(), user);
    return user;
  }

  /** Resolves a tenant id, a verified domain, `common` or `organizations` (case-insensitive). */
  resolveTenant(segment: string): TenantRef | undefined {
    const key = segment.toLowerCase();
    if (key === 'common' || key === 'organizations') return { kind: key, segment };
    const byId = this.tenants.get(key);
    if (byId) return { kind: 'tenant', segment, tenant: byId };
    for (const tenant of this.tenants.values()) {
      if (tenant.domains.includes(key)) return { kind: 'tenant', segment, tenant };
    }
    return undefined;
  }

  tenant(id: string): Tenant | undefined {
    return this.tenants.get(id.toLowerCase());
  }

  app(clientId: string): App | undefined {
    return this.apps.get(clientId.toLowerCase());
  }

  user(upn: string): User | undefined {
    return this.users.get(upn.toLowerCase());
  }

  firstUserOf(tenantId: string): User | undefined {
    for (const user of this.users.values()) if (user.tenantId.toLowerCase() === tenantId.toLowerCase()) return user;
    return undefined;
  }

  /** Admin consent: what client credentials need. */
  hasAdminConsent(app: App, tenantId: string): boolean {
    return app.consentedTenants.has(tenantId.toLowerCase());
  }

  /** Admin or user consent: what delegated tokens need. */
  hasDelegatedConsent(app: App, tenantId: string): boolean {
    return this.hasAdminConsent(app, tenantId) || app.userConsentedTenants.has(tenantId.toLowerCase());
  }

  /** The app exists in a tenant (an Enterprise application): its home, or a tenant where an admin or a user consented. */
  hasServicePrincipal(app: App, tenantId: string): boolean {
    return tenantId.toLowerCase() === app.homeTenantId.toLowerCase() || this.hasDelegatedConsent(app, tenantId);
  }

  recordAdminConsent(app: App, tenantId: string): void {
    app.consentedTenants.add(tenantId.toLowerCase());
  }

  recordUserConsent(app: App, tenantId: string): void {
    if (!this.hasAdminConsent(app, tenantId)) app.userConsentedTenants.add(tenantId.toLowerCase());
  }

  /** The app's service principal object id in a tenant: stable, derived from both ids. */
  servicePrincipalId(app: App, tenantId: string): string {
    const hex = createHash('sha256').update(`${app.clientId.toLowerCase()}|${tenantId.toLowerCase()}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}
