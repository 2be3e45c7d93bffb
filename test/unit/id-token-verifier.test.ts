/**
 * The ID token checks, one by one, with keys and tokens made here: signature
 * against the JWKS (refetched once for an unknown kid, within a cooldown),
 * issuer (with the multi-tenant template), audience, nonce, expiry with skew.
 */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { IdTokenVerifier } from '../../src/adapters/oidc/id-token-verifier.js';
import { JwksCache } from '../../src/adapters/oidc/jwks-cache.js';
import type { OpenIdMetadata } from '../../src/adapters/msal/authority-metadata.js';

const TID = '5a4d1b7e-0000-4000-8000-00000000c0de';
const CLIENT = '0a1b2c3d-0000-4000-8000-000000000002';
const HOST = 'https://login.example';
const NONCE = 'n'.repeat(43);
const NOW = 1_800_000_000;

let key: { privateKey: CryptoKey; jwk: JWK };
let other: { privateKey: CryptoKey; jwk: JWK };

async function makeKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', kty: 'RSA' } };
}

beforeAll(async () => {
  key = await makeKey('k1');
  other = await makeKey('k2');
});

function metadata(tenant: string): OpenIdMetadata {
  const issuerTenant = tenant === 'organizations' ? '{tenantid}' : TID;
  return {
    issuer: `${HOST}/${issuerTenant}/v2.0`,
    authorization_endpoint: `${HOST}/${tenant}/oauth2/v2.0/authorize`,
    token_endpoint: `${HOST}/${tenant}/oauth2/v2.0/token`,
    jwks_uri: `${HOST}/${tenant}/discovery/v2.0/keys`,
  };
}

function setup(published: () => JWK[], options: { cooldownMs?: number } = {}) {
  let fetches = 0;
  let clock = 0;
  const network = {
    sendGetRequestAsync: async <T>() => {
      fetches += 1;
      return { status: 200, headers: {}, body: { keys: published() } as T };
    },
  };
  const jwks = new JwksCache(network, { refreshCooldownMs: options.cooldownMs ?? 30_000, now: () => clock });
  const verifier = new IdTokenVerifier({ metadata: async (authority) => metadata(authority.split('/').pop()!), jwks, now: () => NOW });
  return { verifier, fetches: () => fetches, advance: (ms: number) => (clock += ms) };
}

async function token(claims: JWTPayload = {}, signer = key, header: Record<string, unknown> = {}) {
  return new SignJWT({ tid: TID, oid: 'o-1', email: 'a@contoso.example', preferred_username: 'a@contoso.example', name: 'A', nonce: NONCE, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: signer.jwk.kid!, typ: 'JWT', ...header })
    .setIssuer(typeof claims.iss === 'string' ? claims.iss : `${HOST}/${TID}/v2.0`)
    .setAudience(typeof claims.aud === 'string' ? claims.aud : CLIENT)
    .setIssuedAt(NOW - 10)
    .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : NOW + 3600)
    .sign(signer.privateKey);
}

const input = (idToken: string, tenant = TID, nonce = NONCE) => ({ idToken, authority: `${HOST}/${tenant}`, clientId: CLIENT, nonce });

describe('IdTokenVerifier', () => {
  it('accepts a good token and answers its claims', async () => {
    const { verifier } = setup(() => [key.jwk]);
    await expect(verifier.verify(input(await token()))).resolves.toEqual({
      oid: 'o-1', tid: TID, email: 'a@contoso.example', name: 'A', preferredUsername: 'a@contoso.example', upn: null,
    });
  });

  it('substitutes the token tid into a multi-tenant issuer', async () => {
    const { verifier } = setup(() => [key.jwk]);
    await expect(verifier.verify(input(await token(), 'organizations'))).resolves.toMatchObject({ tid: TID });
    const elsewhere = await token({ iss: `${HOST}/11111111-1111-4111-8111-111111111111/v2.0` });
    await expect(verifier.verify(input(elsewhere, 'organizations'))).rejects.toMatchObject({ code: 'id_token_invalid', detail: expect.stringMatching(/another authority/) });
    const noTid = await token({ tid: 'not-a-guid' });
    await expect(verifier.verify(input(noTid, 'organizations'))).rejects.toMatchObject({ code: 'id_token_invalid', detail: expect.stringMatching(/no tenant/) });
  });

  it.each([
    ['another issuer', { iss: `${HOST}/other/v2.0` }, /another authority/],
    ['another audience', { aud: 'someone-else' }, /another application/],
    ['an expired token', { exp: NOW - 120 }, /expired/],
    ['a missing nonce', { nonce: undefined }, /nonce/],
    ['another nonce', { nonce: 'x'.repeat(43) }, /nonce does not match/],
    ['no oid', { oid: undefined }, /oid/],
  ])('refuses %s', async (_what, claims, detail) => {
    const { verifier } = setup(() => [key.jwk]);
    await expect(verifier.verify(input(await token(claims as JWTPayload)))).rejects.toMatchObject({ code: 'id_token_invalid', detail: expect.stringMatching(detail) });
  });

  it('tolerates a small clock skew', async () => {
    const { verifier } = setup(() => [key.jwk]);
    await expect(verifier.verify(input(await token({ exp: NOW - 30 })))).resolves.toMatchObject({ oid: 'o-1' });
  });

  it('refuses a token signed by another key under a published kid', async () => {
    const { verifier } = setup(() => [key.jwk]);
    const forged = await token({}, { privateKey: other.privateKey, jwk: { ...other.jwk, kid: 'k1' } });
    await expect(verifier.verify(input(forged))).rejects.toMatchObject({ code: 'id_token_invalid', detail: expect.stringMatching(/signature/) });
  });

  it('refuses other algorithms and garbage', async () => {
    const { verifier } = setup(() => [key.jwk]);
    const [h, p] = (await token()).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url')}.${p}.`;
    await expect(verifier.verify(input(none))).rejects.toMatchObject({ code: 'id_token_invalid' });
    await expect(verifier.verify(input(`${h}.${p}.AAAA`))).rejects.toMatchObject({ code: 'id_token_invalid' });
    await expect(verifier.verify(input('garbage'))).rejects.toMatchObject({ code: 'id_token_invalid', detail: /malformed/ });
  });

  it('fetches the keys again for an unknown kid (a rollover) and then accepts', async () => {
    let published = [key.jwk];
    const { verifier, fetches, advance } = setup(() => published);
    await verifier.verify(input(await token()));
    expect(fetches()).toBe(1);
    published = [key.jwk, other.jwk];
    advance(31_000);
    await expect(verifier.verify(input(await token({}, other)))).resolves.toMatchObject({ oid: 'o-1' });
    expect(fetches()).toBe(2);
    await verifier.verify(input(await token({}, other)));
    expect(fetches()).toBe(2);
  });

  it('fetches at most once per cooldown for unknown kids', async () => {
    const { verifier, fetches } = setup(() => [key.jwk]);
    await verifier.verify(input(await token()));
    for (let i = 0; i < 5; i++) {
      await expect(verifier.verify(input(await token({}, other)))).rejects.toMatchObject({ code: 'id_token_invalid', detail: /does not publish/ });
    }
    expect(fetches()).toBe(1);
  });
});
