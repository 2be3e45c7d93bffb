/**
 * What the service remembers between sending a browser to Microsoft and
 * Microsoft sending it back: one record per authorization request, stored
 * encrypted under the digest of its `state` for ten minutes and taken once
 * by the callback (see store/one-time-store.ts). The record says which flow
 * the callback finishes.
 */

/** How long a user has to finish signing in (s). Microsoft's own codes live 10 minutes too. */
export const STATE_TTL_SECONDS = 10 * 60;

/** How long an application has to exchange a login code (s). */
export const LOGIN_CODE_TTL_SECONDS = 60;

interface Common {
  connectionId: string;
  /** PKCE code verifier: proves to the token endpoint that we started this sign-in. */
  verifier: string;
  /** Sent in the authorize request; the ID token must carry it back. */
  nonce: string;
  createdAt: string;
}

/** "Set up / Renew OAuth connection": the mailbox's user signs in, the service keeps the refresh token. */
export interface DelegatedState extends Common {
  flow: 'delegated';
  mailboxId: string;
}

/** The sign-in provider: someone signs in, the application at `returnTo` learns who. No token is kept. */
export interface SignInState extends Common {
  flow: 'sign_in';
  returnTo: string;
  /**
   * SHA-256 (base64url) of the secret the starting browser keeps in a cookie (browser-binding.ts):
   * the callback refuses a browser without it. Absent only in records written before the binding existed.
   */
  browserBinding?: string;
}

/**
 * Admin consent (admin-consent.ts): a tenant's administrator grants the connection's app its
 * permissions for the tenant. No code comes back, so no verifier or nonce; bound to its browser as
 * the sign-in is.
 */
export interface AdminConsentState {
  flow: 'admin_consent';
  connectionId: string;
  /** The link's ticket, taken once the consent succeeded. */
  ticket: string;
  /** SHA-256 (base64url) of the browser's binding secret (browser-binding.ts). */
  browserBinding: string;
  createdAt: string;
}

export type StateRecord = DelegatedState | SignInState | AdminConsentState;

/** An admin consent link (POST /v1/connections/{id}/admin-consent), kept 7 days under its ticket. */
export interface AdminConsentLink {
  connectionId: string;
  /** The tenant named in the link (id or domain); null: organizations (any tenant's administrator). */
  tenant: string | null;
  createdAt: string;
}

/** How long an admin consent link works (s): long enough to reach a customer's administrator by email. */
export const ADMIN_CONSENT_LINK_TTL_SECONDS = 7 * 24 * 3600;

/** The verified identity a login code stands for (POST /v1/login/exchange). */
export interface LoginClaims {
  oid: string;
  tid: string;
  email: string | null;
  name: string | null;
  preferredUsername: string | null;
  /** The connection the sign-in went through, so an application can refuse another connection's. */
  connectionId: string;
  /** The tenant that verified the identity: the ID token's `tid` (equal to `tid`, named as on connections). */
  tenantId: string;
}
