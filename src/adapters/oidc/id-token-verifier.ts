/**
 * Verifies an ID token ourselves, as OpenID Connect Core §3.1.3.7 asks,
 * before the service believes who signed in:
 *
 * 1. the signature (RS256) against the authority's JWKS (jwks_uri from its
 *    OpenID metadata), fetched again once when the token names an unknown kid;
 * 2. `iss` equal to the metadata's issuer; for multi-tenant authorities
 *    (organizations, common) the issuer is a template, `{tenantid}` is
 *    replaced with the token's own `tid` (a GUID), which the signature covers;
 * 3. `aud` equal to the client id;
 * 4. `nonce` equal to the one this sign-in sent;
 * 5. `exp` (and `nbf`) with a small clock skew.
 *
 * Every failure is an `id_token_invalid` error that says which check failed
 * and never carries the token.
 */
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../../errors/errors.js';
import type { OpenIdMetadata } from '../msal/authority-metadata.js';
import { transportError } from '../msal/errors.js';
import { MsalHttpError } from '../msal/network-client.js';
import type { JwksCache } from './jwks-cache.js';

/** Tolerated difference between our clock and Microsoft's (s). */
export const CLOCK_SKEW_SECONDS = 60;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HINT = 'Start the sign-in again. If it keeps failing, check the connection\'s tenant id and authority host, and the server\'s clock.';

export interface VerifyIdTokenInput {
  idToken: string;
  authority: string;
  clientId: string;
  nonce: string;
}

export interface VerifiedIdToken {
  oid: string;
  tid: string;
  email: string | null;
  name: string | null;
  preferredUsername: string | null;
  upn: string | null;
}

export interface IdTokenVerifierDeps {
  metadata: (authority: string) => Promise<OpenIdMetadata>;
  jwks: JwksCache;
  /** Seconds since the epoch; tests move it. */
  now?: () => number;
}

function invalid(detail: string, cause?: unknown): AppError {
  return new AppError('id_token_invalid', detail, { hint: HINT, step: 'tenant_and_client_id', cause });
}

const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function expectedIssuer(template: string, unverified: JWTPayload): string {
  if (!template.includes('{tenantid}')) return template;
  const tid = unverified.tid;
  if (typeof tid !== 'string' || !GUID.test(tid)) throw invalid('The ID token names no tenant (tid), so its issuer cannot be checked.');
  return template.replace('{tenantid}', tid.toLowerCase());
}

function explain(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof MsalHttpError) return transportError(err);
  if (err instanceof joseErrors.JWTExpired) return invalid('The ID token has expired.', err);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const what: Record<string, string> = {
      iss: 'was issued by another authority than the connection\'s',
      aud: 'was issued for another application (audience)',
      nbf: 'is not valid yet',
      iat: 'has an invalid issue time',
    };
    return invalid(`The ID token ${what[err.claim] ?? `has an invalid ${err.claim} claim`}.`, err);
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return invalid('The ID token is signed with a key the identity platform does not publish.', err);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return invalid('The ID token\'s signature does not verify.', err);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return invalid('The ID token is not signed with RS256.', err);
  return invalid('The ID token is malformed.', err);
}

export class IdTokenVerifier {
  private readonly now: () => number;

  constructor(private readonly deps: IdTokenVerifierDeps) {
    this.now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  }

  async verify(input: VerifyIdTokenInput): Promise<VerifiedIdToken> {
    try {
      return await this.check(input);
    } catch (err) {
      throw explain(err);
    }
  }

  private async check(input: VerifyIdTokenInput): Promise<VerifiedIdToken> {
    const metadata = await this.deps.metadata(input.authority);
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(input.idToken);
    } catch (err) {
      throw invalid('The ID token is malformed.', err);
    }
    const options = {
      issuer: expectedIssuer(metadata.issuer, unverified),
      audience: input.clientId,
      algorithms: ['RS256'],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(this.now() * 1000),
      requiredClaims: ['exp', 'iat', 'tid', 'oid', 'nonce'],
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(input.idToken, createLocalJWKSet(await this.deps.jwks.get(metadata.jwks_uri)), options));
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
      // A key rollover: fetch the keys again (rate-limited by the cache) and try once more.
      ({ payload } = await jwtVerify(input.idToken, createLocalJWKSet(await this.deps.jwks.refresh(metadata.jwks_uri)), options));
    }
    if (payload.nonce !== input.nonce) throw invalid('The ID token\'s nonce does not match this sign-in (a response to another sign-in).');
    const oid = str(payload.oid);
    const tid = str(payload.tid);
    if (!oid || !tid) throw invalid('The ID token carries no oid or tid.');
    return {
      oid,
      tid,
      email: str(payload.email),
      name: str(payload.name),
      preferredUsername: str(payload.preferred_username),
      upn: str(payload.upn),
    };
  }
}
