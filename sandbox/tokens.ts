/**
 * Tokens shaped as Entra ID issues them, signed with the sandbox key.
 *
 * Access tokens for the Exchange Online resource are v1 tokens: `aud` is
 * `https://outlook.office365.com` (a string: Dovecot 2.3.19 crashes on an
 * array), `iss` is `https://sts.windows.net/{tid}/`, app-only tokens carry
 * `roles` and `idtyp: "app"`, user tokens carry `scp`, `upn` and
 * `idtyp: "user"`. Dovecot wants the header `typ: "JWT"`.
 */
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import type { SigningKey } from './pki.js';

export const EXCHANGE_AUDIENCE = 'https://outlook.office365.com';

export interface AppTokenInput {
  tenantId: string;
  clientId: string;
  roles: string[];
  /** Object id of the app's service principal. */
  servicePrincipalId?: string;
  lifetimeSeconds?: number;
}

export interface UserTokenInput {
  tenantId: string;
  clientId: string;
  scopes: string[];
  upn: string;
  oid: string;
  name?: string;
  lifetimeSeconds?: number;
}

export interface IdTokenInput {
  issuer: string;
  tenantId: string;
  clientId: string;
  oid: string;
  email: string;
  /** The sign-in name (the UPN); default: `email`. */
  preferredUsername?: string;
  name: string;
  nonce?: string;
  lifetimeSeconds?: number;
}

const DEFAULT_LIFETIME_SECONDS = 3599;

async function sign(key: SigningKey, claims: JWTPayload, lifetimeSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuedAt(now)
    .setNotBefore(now - 5)
    .setExpirationTime(now + lifetimeSeconds)
    .setJti(randomUUID())
    .sign(createPrivateKey(key.privateKeyPem));
}

export function v1Issuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

export async function mintAppToken(key: SigningKey, input: AppTokenInput): Promise<string> {
  return sign(
    key,
    {
      aud: EXCHANGE_AUDIENCE,
      iss: v1Issuer(input.tenantId),
      appid: input.clientId,
      appidacr: '1',
      idtyp: 'app',
      oid: input.servicePrincipalId ?? randomUUID(),
      sub: input.servicePrincipalId ?? input.clientId,
      tid: input.tenantId,
      roles: input.roles,
      ver: '1.0',
    },
    input.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS,
  );
}

export async function mintUserToken(key: SigningKey, input: UserTokenInput): Promise<string> {
  return sign(
    key,
    {
      aud: EXCHANGE_AUDIENCE,
      iss: v1Issuer(input.tenantId),
      appid: input.clientId,
      appidacr: '1',
      idtyp: 'user',
      oid: input.oid,
      sub: input.oid,
      tid: input.tenantId,
      scp: input.scopes.join(' '),
      upn: input.upn,
      unique_name: input.upn,
      name: input.name ?? input.upn,
      ver: '1.0',
    },
    input.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS,
  );
}

/** A v2 ID token as the authorization code grant returns it. */
export async function mintIdToken(key: SigningKey, input: IdTokenInput): Promise<string> {
  return sign(
    key,
    {
      aud: input.clientId,
      iss: input.issuer,
      tid: input.tenantId,
      oid: input.oid,
      sub: input.oid,
      email: input.email,
      preferred_username: input.preferredUsername ?? input.email,
      name: input.name,
      ...(input.nonce ? { nonce: input.nonce } : {}),
      ver: '2.0',
    },
    input.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS,
  );
}

/** Verifies a sandbox access token for Exchange; throws when it is not valid. */
export async function verifyExchangeToken(key: SigningKey, token: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createPublicKey(key.publicKeyPem), {
    audience: EXCHANGE_AUDIENCE,
    algorithms: ['RS256'],
  });
  return payload;
}
