/**
 * The identity sandbox's client assertions, made by hand rather than by MSAL (which always signs
 * PS256 with `x5t#S256`): RS256 with the SHA-1 `x5t` the portal shows, PS256 with `x5t#S256`,
 * and the refusals Entra gives for a wrong audience, issuer, subject, lifetime or key.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificate, type TestCertificate } from '../../sandbox/x509.js';
import { startIdentityFixture, TENANT_A, type IdentityFixture } from '../support/identity-fixture.js';

const APP = 'a5500000-0000-4000-8000-0000000000a5';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let fx: IdentityFixture;
let cert: TestCertificate;
let other: TestCertificate;
beforeAll(async () => {
  fx = await startIdentityFixture();
  cert = createTestCertificate({ commonName: 'assertions' });
  other = createTestCertificate({ commonName: 'not registered' });
  fx.identity.addApp({ clientId: APP, homeTenantId: TENANT_A, secrets: [], certificates: [{ pem: cert.certPem }], appRoles: ['IMAP.AccessAsApp'] });
});
afterAll(async () => {
  await fx?.close();
});

const tokenUrl = (): string => `${fx.identity.url}/${TENANT_A}/oauth2/v2.0/token`;
const b64url = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');

interface Made { alg?: 'RS256' | 'PS256'; thumb?: 'x5t' | 'x5t#S256'; signer?: TestCertificate; named?: TestCertificate; aud?: string; iss?: string; sub?: string; expiresIn?: number }

async function assertion(m: Made = {}): Promise<string> {
  const named = m.named ?? cert;
  const alg = m.alg ?? 'RS256';
  const header = m.thumb === 'x5t#S256' ? { alg, typ: 'JWT', 'x5t#S256': b64url(named.thumbprintSha256) } : { alg, typ: 'JWT', x5t: b64url(named.thumbprint) };
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader(header)
    .setIssuer(m.iss ?? APP).setSubject(m.sub ?? APP).setAudience(m.aud ?? tokenUrl())
    .setNotBefore(now - 60).setIssuedAt(now - 60).setExpirationTime(now + (m.expiresIn ?? 600))
    .sign((m.signer ?? named).key);
}

async function token(clientAssertion: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(tokenUrl(), {
    method: 'POST', dispatcher: fx.browser,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: APP, scope: 'https://outlook.office365.com/.default', client_assertion_type: JWT_BEARER, client_assertion: clientAssertion }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const aadsts = (body: Record<string, unknown>): number => Number(/^AADSTS(\d+)/.exec(String(body.error_description))?.[1]);

describe('client assertions at the sandbox token endpoint', () => {
  it.each([
    ['RS256 with x5t (SHA-1, as the portal lists it)', { alg: 'RS256', thumb: 'x5t' }],
    ['RS256 with x5t#S256', { alg: 'RS256', thumb: 'x5t#S256' }],
    ['PS256 with x5t', { alg: 'PS256', thumb: 'x5t' }],
    ['PS256 with x5t#S256 (what MSAL sends)', { alg: 'PS256', thumb: 'x5t#S256' }],
  ] as const)('takes %s', async (_what, made) => {
    const answer = await token(await assertion(made));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.access_token).toEqual(expect.any(String));
  });

  // Made when the test runs: the certificates exist only after beforeAll.
  it.each([
    ['another audience', (): Made => ({ aud: 'https://login.microsoftonline.com/common/oauth2/v2.0/token' })],
    ['sub other than iss', (): Made => ({ sub: randomUUID() })],
    ['signed by another key than the certificate named', (): Made => ({ signer: other })],
    ['a certificate not registered on the app', (): Made => ({ named: other })],
    ['expired', (): Made => ({ expiresIn: -900 })],
  ] as const)('refuses %s with an AADSTS error', async (_what, made) => {
    const answer = await token(await assertion(made()));
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.body.error).toEqual(expect.any(String));
    expect(aadsts(answer.body)).toBeGreaterThan(0);
  });

  it('names the right AADSTS for an expired assertion and an unregistered certificate', async () => {
    expect(aadsts((await token(await assertion({ expiresIn: -900 }))).body)).toBe(700024);
    expect([700027, 7000274]).toContain(aadsts((await token(await assertion({ named: other }))).body));
  });
});
