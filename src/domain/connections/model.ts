/**
 * A connection as the domain takes and gives it: what creating and changing
 * one asks for, and what is shown of it (never its secret). The wire schemas
 * (http/schemas/connections.ts) describe the same shapes to clients and are
 * checked against these types when the project compiles.
 */

/** `app_only`: client credentials (a service principal with mailbox permission). `delegated`: a user signs in. */
export type Flow = 'app_only' | 'delegated';

export interface CreateConnectionInput {
  name: string;
  flow: Flow;
  /** Directory (tenant) ID or a verified domain; empty or null for a multi-tenant delegated app. */
  tenantId?: string | null;
  clientId: string;
  clientSecret: string;
  authorityHost?: string;
  personalAccounts?: boolean;
  /** Origins or URL prefixes the sign-in provider may send browsers back to; null: the service-wide list. */
  loginReturnTo?: string[] | null;
}

export interface UpdateConnectionInput {
  name?: string;
  clientSecret?: string;
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
  /** The last 4 characters of the client secret. */
  clientSecretHint: string;
  loginReturnTo: string[] | null;
  secretUpdatedAt: string;
  createdAt: string;
  updatedAt: string;
}
