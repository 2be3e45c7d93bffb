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

export type StateRecord = DelegatedState | SignInState;

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
