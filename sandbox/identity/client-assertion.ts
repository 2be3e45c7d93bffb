/**
 * Client assertions (RFC 7523, `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`),
 * checked as Entra does, in its order:
 *
 * - The app's own assertion (`iss` = the client id), signed with a certificate registered on
 *   the app: RS256 or PS256, the key named by `x5t#S256` or `x5t`, `sub` = `iss` = client id,
 *   `aud` = the tenant's token endpoint, within `nbf`..`exp`.
 * - A federated assertion (any other `iss`): a token of a trusted issuer (the sandbox's
 *   federated issuers, a stand-in for a cluster's OIDC issuer) whose issuer, subject and
 *   audience (`api://AzureADTokenExchange`) match one of the app's federated credentials.
 *
 * Each refusal is the AADSTS answer Entra gives for it (aadsts.ts).
 */
import { compactVerify, decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { ErrorParams } from './aadsts.js';
import type { IdentityState } from './context.js';
import type { App } from './directory.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
const ALGORITHMS = ['RS256', 'PS256'];
/** Entra tolerates this much clock difference on nbf and exp. */
const SKEW_SECONDS = 300;

export type AssertionCheck = { ok: true } | { ok: false; aadsts: number; params: ErrorParams };

const refuse = (aadsts: number, params: ErrorParams = {}): AssertionCheck => ({ ok: false, aadsts, params });

/** Entra's time format in 700024: seven fractional digits. */
const entraTime = (at: Date): string => at.toISOString().replace(/Z$/, '0000Z');

function decode(assertion: string): { header: ProtectedHeaderParameters; payload: JWTPayload } | undefined {
  try {
    return { header: decodeProtectedHeader(assertion), payload: decodeJwt(assertion) };
  } catch {
    return undefined;
  }
}

async function signatureHolds(assertion: string, key: Parameters<typeof compactVerify>[1]): Promise<boolean> {
  try {
    await compactVerify(assertion, key, { algorithms: ALGORITHMS });
    return true;
  } catch {
    return false;
  }
}

function timeRange(payload: JWTPayload): AssertionCheck {
  const now = Math.floor(Date.now() / 1000);
  const { exp, nbf } = payload;
  if (typeof exp !== 'number' || exp + SKEW_SECONDS < now || (typeof nbf === 'number' && nbf - SKEW_SECONDS > now)) {
    return refuse(700024, {
      currentTime: entraTime(new Date()),
      validFrom: entraTime(new Date((typeof nbf === 'number' ? nbf : 0) * 1000)),
      expiry: entraTime(new Date((typeof exp === 'number' ? exp : 0) * 1000)),
    });
  }
  return { ok: true };
}

const hexOf = (b64url: string): string => Buffer.from(b64url, 'base64url').toString('hex').toUpperCase();

async function certificateAssertion(app: App, assertion: string, header: ProtectedHeaderParameters, payload: JWTPayload, audiences: string[]): Promise<AssertionCheck> {
  if (payload.sub !== payload.iss) return refuse(700021);
  const aud = typeof payload.aud === 'string' ? [payload.aud] : payload.aud ?? [];
  if (!aud.some((a) => audiences.includes(a.toLowerCase()))) return refuse(700023);
  const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
  if (!x5tS256 && !x5t) return refuse(50027);
  const thumbprint = hexOf((x5tS256 ?? x5t)!);
  const registered = app.certificates.find((c) => (x5tS256 ? c.x5tS256 === x5tS256 : c.x5t === x5t));
  if (!registered || registered.expiresAt.getTime() <= Date.now()) return refuse(700027, { thumbprint, clientId: app.clientId });
  if (!(await signatureHolds(assertion, registered.publicKey))) return refuse(7000274, { thumbprint });
  return timeRange(payload);
}

async function federatedAssertion(state: IdentityState, app: App, assertion: string, payload: JWTPayload): Promise<AssertionCheck> {
  const issuer = String(payload.iss);
  const byIssuer = app.federatedCredentials.filter((c) => c.issuer === issuer);
  if (byIssuer.length === 0) return refuse(700211, { issuer });
  const key = state.federatedIssuers.get(issuer);
  if (!key || !(await signatureHolds(assertion, key))) return refuse(7000274, { thumbprint: '' });
  const subject = String(payload.sub ?? '');
  const bySubject = byIssuer.filter((c) => c.subject === subject);
  if (bySubject.length === 0) return refuse(700213, { subject });
  const aud = typeof payload.aud === 'string' ? [payload.aud] : payload.aud ?? [];
  if (!bySubject.some((c) => (c.audiences ?? [TOKEN_EXCHANGE_AUDIENCE]).some((a) => aud.includes(a)))) {
    return refuse(700212, { audience: aud.join(',') });
  }
  return timeRange(payload);
}

/** Checks the request's client assertion for `app`; `tokenEndpoints`: what its `aud` may be (lower case). */
export async function checkClientAssertion(state: IdentityState, app: App, form: URLSearchParams, tokenEndpoints: string[]): Promise<AssertionCheck> {
  const type = form.get('client_assertion_type');
  if (!type) return refuse(90014, { field: 'client_assertion_type' });
  if (type !== JWT_BEARER) return refuse(9002313);
  const assertion = form.get('client_assertion') ?? '';
  const decoded = decode(assertion);
  if (!decoded || typeof decoded.header.alg !== 'string' || !ALGORITHMS.includes(decoded.header.alg) || typeof decoded.payload.iss !== 'string') {
    return refuse(50027);
  }
  if (decoded.payload.iss.toLowerCase() === app.clientId.toLowerCase()) {
    return certificateAssertion(app, assertion, decoded.header, decoded.payload, tokenEndpoints);
  }
  if (app.federatedCredentials.length === 0) return refuse(700021);
  return federatedAssertion(state, app, assertion, decoded.payload);
}
