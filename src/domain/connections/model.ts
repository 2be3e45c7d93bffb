/**
 * A connection as the domain takes and gives it: what creating and changing
 * one asks for, and what is shown of it (never its secret). The wire schemas
 * (http/schemas/connections.ts) describe the same shapes to clients and are
 * checked against these types when the project compiles.
 */

/** `app_only`: client credentials (a service principal with mailbox permission). `delegated`: a user signs in. */
export type Flow = 'app_only' | 'delegated';

/** A certificate credential: the certificate and its private key (and possibly its chain) in PEM. */
export interface CertificateInput {
  pem: string;
}

/** Workload identity federation: the file whose current token is the client assertion; absent: AZURE_FEDERATED_TOKEN_FILE. */
export interface FederatedInput {
  tokenFile?: string;
}

export type CredentialType = 'secret' | 'certificate' | 'federated';

/** What is shown of a connection's credential: never a secret or a key. */
export interface CredentialViewT {
  type: CredentialType;
  /** Certificates: the SHA-1 thumbprint as the portal's Certificates list shows it. */
  thumbprint?: string;
  /** When the credential expires: read from a certificate, given for a secret (credentialExpiresAt); absent: unknown. */
  expiresAt?: string;
  /** Federated: the token file given; absent: AZURE_FEDERATED_TOKEN_FILE. */
  tokenFile?: string;
}

export interface CreateConnectionInput {
  name: string;
  flow: Flow;
  /** Directory (tenant) ID or a verified domain; empty or null for a multi-tenant delegated app. */
  tenantId?: string | null;
  clientId: string;
  /** Exactly one of clientSecret, certificate and federated. */
  clientSecret?: string;
  certificate?: CertificateInput;
  federated?: FederatedInput;
  /** Secrets only: when the secret expires (the portal's Expires column), RFC 3339. */
  credentialExpiresAt?: string;
  authorityHost?: string;
  personalAccounts?: boolean;
  /** Origins or URL prefixes the sign-in provider may send browsers back to; null: the service-wide list. */
  loginReturnTo?: string[] | null;
}

export interface UpdateConnectionInput {
  name?: string;
  /** At most one of clientSecret, certificate and federated: the connection's credential is replaced. */
  clientSecret?: string;
  certificate?: CertificateInput;
  federated?: FederatedInput;
  /** Secrets only: when the (new or current) secret expires, RFC 3339; null: unknown. */
  credentialExpiresAt?: string | null;
  loginReturnTo?: string[] | null;
}

export interface ConnectionViewT {
  id: string;
  name: string;
  flow: Flow;
  tenantId: string | null;
  clientId: string;
  authorityHost: string;
  authority: string;
  /** Secrets only: the last 4 characters of the client secret. */
  clientSecretHint?: string;
  credential: CredentialViewT;
  /** Tenants whose administrator granted admin consent through POST /v1/connections/{id}/admin-consent. */
  consentedTenants: ConsentedTenantT[];
  loginReturnTo: string[] | null;
  secretUpdatedAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface ConsentedTenantT {
  /** The tenant id Microsoft named when the administrator consented. */
  tenantId: string;
  /** When (the latest consent of this tenant). */
  at: string;
}
