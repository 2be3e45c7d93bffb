/**
 * The random values of an authorization request: the OAuth `state`, the
 * OpenID `nonce`, the PKCE verifier and its S256 challenge, and the login
 * codes handed to applications. Each is 256 bits from the system CSPRNG,
 * base64url (43 characters; RFC 7636 wants a verifier of 43 to 128).
 */
import { createHash, randomBytes } from 'node:crypto';

/** What `newSecret` produces; anything else is refused before touching Redis. */
export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export interface Pkce {
  verifier: string;
  /** BASE64URL(SHA256(verifier)), sent with code_challenge_method=S256. */
  challenge: string;
}

export function newPkce(): Pkce {
  const verifier = newSecret();
  return { verifier, challenge: createHash('sha256').update(verifier, 'ascii').digest('base64url') };
}
