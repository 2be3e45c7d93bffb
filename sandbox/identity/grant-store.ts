/**
 * Issued authorization codes and refresh tokens, both opaque random strings
 * as Entra's are (to the client).
 *
 * Codes are single-use and live 10 minutes by default (what Microsoft staff
 * state on Q&A; the protocol docs only say "short lived"). Refresh tokens
 * follow Entra's documented behaviour: every redemption returns a new one and
 * the old one stays valid ("The Microsoft identity platform doesn't revoke
 * old refresh tokens when used to fetch new access tokens"); revocation and
 * inactivity expiry hit all of a user's tokens.
 */
import { randomBytes } from 'node:crypto';

export interface AuthCode {
  code: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | undefined;
  scopes: string[];
  upn: string;
  tenantId: string;
  issuedAt: number;
  redeemed: boolean;
}

export interface RefreshGrant {
  token: string;
  clientId: string;
  upn: string;
  tenantId: string;
  scopes: string[];
  issuedAt: Date;
  revokedAt?: Date;
  expired: boolean;
}

function opaque(): string {
  // Entra's codes and refresh tokens start with a version marker such as "1.A".
  return `1.A${randomBytes(48).toString('base64url')}`;
}

export class GrantStore {
  private readonly codes = new Map<string, AuthCode>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  codeLifetimeMs = 10 * 60 * 1000;

  issueCode(input: Omit<AuthCode, 'code' | 'issuedAt' | 'redeemed'>): string {
    const code = opaque();
    this.codes.set(code, { ...input, code, issuedAt: Date.now(), redeemed: false });
    return code;
  }

  /** The code's record, or undefined for a code never issued. Does not mark it redeemed. */
  findCode(code: string): AuthCode | undefined {
    return this.codes.get(code);
  }

  isCodeExpired(record: AuthCode): boolean {
    return Date.now() - record.issuedAt > this.codeLifetimeMs;
  }

  issueRefreshToken(input: Omit<RefreshGrant, 'token' | 'issuedAt' | 'expired'>): string {
    const token = opaque();
    this.refreshTokens.set(token, { ...input, token, issuedAt: new Date(), expired: false });
    return token;
  }

  findRefreshToken(token: string): RefreshGrant | undefined {
    return this.refreshTokens.get(token);
  }

  /** Every refresh token of the user issued so far becomes invalid (AADSTS50173). */
  revokeUser(upn: string): void {
    const now = new Date();
    for (const grant of this.refreshTokens.values()) {
      if (grant.upn.toLowerCase() === upn.toLowerCase() && !grant.revokedAt) grant.revokedAt = now;
    }
  }

  /** Every refresh token of the user issued so far counts as expired by inactivity (AADSTS700082). */
  expireUser(upn: string): void {
    for (const grant of this.refreshTokens.values()) {
      if (grant.upn.toLowerCase() === upn.toLowerCase()) grant.expired = true;
    }
  }

  /** Makes a code look older, for expiry tests without waiting. */
  ageCodes(ms: number): void {
    for (const record of this.codes.values()) record.issuedAt -= ms;
  }
}
