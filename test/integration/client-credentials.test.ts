/**
 * Certificate and federated (workload identity) credentials through the API,
 * with the real MSAL against the identity imitation: a certificate gets a
 * token (PS256, x5t#S256, x5c), the assertion refusals map to codes, hints and
 * the setup step, PATCH rotates without a gap, a federated token file is read
 * for each token request, and hostile input is refused with 400.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { meaningOf } from '../../src/domain/tokens/aadsts.js';
import { createTestCertificate, type TestCertificate } from '../../sandbox/x509.js';
import type { FederatedIssuer } from '../../sandbox/identity/index.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { TENANT_A, startIdentityFixture, type IdentityFixture } from '../support/identity-fixture.js';

const CERT_APP = 'c1000000-0000-4000-8000-0000000000c1';
const FED_APP = 'c2000000-0000-4000-8000-0000000000c2';
const ISSUER = 'https://oidc.cluster.example/11111111-2222-3333-4444-555555555555/';
const SUBJECT = 'system:serviceaccount:mail:mailsync';

let fx: IdentityFixture;
let cert: TestCertificate;
let dir: string;
let issuer: FederatedIssuer;
let defaultTokenFile: string;

const redis = useRedis();
beforeAll(async () => {
  fx = await startIdentityFixture();
  cert = createTestCertificate({ commonName: 'mailsync-cert' });
  fx.identity.addApp({ clientId: CERT_APP, homeTenantId: TENANT_A, secrets: [], certificates: [{ pem: cert.certPem }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
  issuer = fx.identity.addFederatedIssuer(ISSUER);
  fx.identity.addApp({ clientId: FED_APP, homeTenantId: TENANT_A, secrets: [], federatedCredentials: [{ issuer: ISSUER, subject: SUBJECT }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
  dir = await mkdtemp(join(tmpdir(), 'mailsync-fed-'));
  defaultTokenFile = join(dir, 'azure-identity-token');
});
afterAll(async () => {
  await fx?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
const t = useTestApp(() => ({ NODE_EXTRA_CA_CERTS: fx.pki.caCertFile, AZURE_FEDERATED_TOKEN_FILE: defaultTokenFile }), redis);

beforeEach(() => {
  fx.identity.clearErrors();
});

async function create(payload: Record<string, unknown>) {
  return t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'c', flow: 'app_only', tenantId: TENANT_A, clientId: CERT_APP, authorityHost: fx.identity.url, ...payload },
  });
}

async function created(payload: Record<string, unknown>): Promise<{ id: string; credential: Record<string, unknown> } & Record<string, unknown>> {
  const res = await create(payload);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function verify(id: string) {
  const res = await t.app.inject({ method: 'POST', url: `/v1/connections/${id}/verify`, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { ok: boolean; roles: string[]; problems: { code: string; hint?: string; aadstsCode?: number; setupStep?: string; detail: string }[] };
}

/** The JOSE header of the last client assertion the imitation received from a client. */
function lastAssertionHeader(clientId: string): Record<string, unknown> | undefined {
  return fx.identity.requests.filter((r) => r.clientId === clientId && r.assertionHeader).at(-1)?.assertionHeader;
}

describe('certificate credentials', () => {
  it('a certificate connection gets a token from the imitation through MSAL, and shows no key', async () => {
    const view = await created({ certificate: { pem: cert.certPem + cert.keyPem } });
    expect(view.credential).toEqual({ type: 'certificate', thumbprint: cert.thumbprint, expiresAt: new Date(cert.x509.validTo).toISOString() });
    expect(view).not.toHaveProperty('clientSecretHint');
    expect(JSON.stringify(view)).not.toMatch(/PRIVATE KEY/);
    const result = await verify(view.id);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.roles).toEqual(expect.arrayContaining(['IMAP.AccessAsApp', 'SMTP.SendAsApp']));
    const got = await t.app.inject({ method: 'GET', url: `/v1/connections/${view.id}`, headers: t.auth });
    expect(got.body).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    expect(t.logs.text()).not.toContain(cert.keyPem.split('\n')[1]!);
  });

  it('signs PS256 with x5t#S256 and sends the chain as x5c', async () => {
    const ca = createTestCertificate({ commonName: 'issuing ca' });
    const leaf = createTestCertificate({ commonName: 'chained', issuer: ca });
    const clientId = 'c1000000-0000-4000-8000-0000000000c3';
    fx.identity.addApp({ clientId, homeTenantId: TENANT_A, secrets: [], certificates: [{ pem: leaf.certPem }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
    const view = await created({ clientId, certificate: { pem: leaf.certPem + ca.certPem + leaf.keyPem } });
    const { credential } = await t.deps.services.connections.credentials(view.id);
    expect(credential).toMatchObject({ type: 'certificate', thumbprintSha256: leaf.thumbprintSha256 });
    expect((await verify(view.id)).ok).toBe(true);
    // What MSAL built from it, as the imitation received it.
    const header = lastAssertionHeader(clientId)!;
    expect(header).toMatchObject({ alg: 'PS256', typ: 'JWT', 'x5t#S256': Buffer.from(leaf.thumbprintSha256, 'hex').toString('base64url') });
    expect(header.x5c).toEqual([leaf.certPem, ca.certPem].map((p) => p.replace(/-----[A-Z ]+-----|\s/g, '')));
  });

  it('an unregistered certificate answers AADSTS700027, mapped to client_assertion_invalid and the credential step', async () => {
    const other = createTestCertificate({ commonName: 'not uploaded' });
    const result = await verify((await created({ certificate: { pem: other.certPem + other.keyPem } })).id);
    const meaning = meaningOf(700027)!;
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ code: 'client_assertion_invalid', aadstsCode: 700027, setupStep: 'client_secret', hint: meaning.hint });
    expect(result.problems[0]!.detail).toContain(other.thumbprintSha256.toUpperCase());
  });

  it.each([700027, 7000274, 700024, 700023, 700021, 50027, 700211, 700212, 700213])(
    'AADSTS%i from the token endpoint yields its code, hint and step', async (aadsts) => {
      const id = (await created({ certificate: { pem: cert.certPem + cert.keyPem } })).id;
      fx.identity.injectError({ aadsts, clientId: CERT_APP, endpoint: 'token' });
      const result = await verify(id);
      const meaning = meaningOf(aadsts)!;
      expect(result.problems[0]).toMatchObject({ code: meaning.code, aadstsCode: aadsts, hint: meaning.hint, setupStep: meaning.step });
      expect(result.problems[0]!.detail).toMatch(new RegExp(`^AADSTS${aadsts}:`));
    });

  it('PATCH rotates the certificate: the cached token stays in use, the next token request uses the new certificate', async () => {
    const view = await created({ certificate: { pem: cert.certPem + cert.keyPem } });
    const first = await t.deps.services.tokens.appToken(view.id);
    const next = createTestCertificate({ commonName: 'next' });
    fx.identity.updateApp(CERT_APP, { certificates: [{ pem: cert.certPem }, { pem: next.certPem }] });
    const rotated = await t.app.inject({ method: 'PATCH', url: `/v1/connections/${view.id}`, headers: t.auth, payload: { certificate: { pem: next.certPem + next.keyPem } } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json().credential).toMatchObject({ type: 'certificate', thumbprint: next.thumbprint });
    const requests = fx.identity.tokenRequests({ clientId: CERT_APP });
    const cached = await t.deps.services.tokens.appToken(view.id);
    expect(cached.accessToken).toBe(first.accessToken);
    expect(fx.identity.tokenRequests({ clientId: CERT_APP })).toBe(requests);
    // The old certificate is removed from the app: a fresh token works only with the new one.
    fx.identity.updateApp(CERT_APP, { certificates: [{ pem: next.certPem }, { pem: cert.certPem }] });
    const fresh = await t.deps.services.tokens.appToken(view.id, { fresh: true });
    expect(fresh.accessToken).not.toBe(first.accessToken);
    fx.identity.updateApp(CERT_APP, { certificates: [{ pem: cert.certPem }] });
  });

  it('PATCH switches a secret connection to a certificate, and back', async () => {
    const clientId = 'c1000000-0000-4000-8000-0000000000c4';
    fx.identity.addApp({ clientId, homeTenantId: TENANT_A, secrets: [{ id: 's', value: 'switching-secret-value-0123' }], certificates: [{ pem: cert.certPem }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
    const view = await created({ clientId, clientSecret: 'switching-secret-value-0123' });
    expect(view.credential).toEqual({ type: 'secret' });
    expect(view.clientSecretHint).toBe('0123');
    const toCert = await t.app.inject({ method: 'PATCH', url: `/v1/connections/${view.id}`, headers: t.auth, payload: { certificate: { pem: cert.certPem + cert.keyPem } } });
    expect(toCert.json()).not.toHaveProperty('clientSecretHint');
    expect((await t.deps.services.connections.record(view.id)).clientSecret).toBeUndefined();
    expect((await verify(view.id)).ok).toBe(true);
    const back = await t.app.inject({ method: 'PATCH', url: `/v1/connections/${view.id}`, headers: t.auth, payload: { clientSecret: 'switching-secret-value-0123' } });
    expect(back.json().credential).toEqual({ type: 'secret' });
    expect((await t.deps.services.connections.record(view.id)).certificate).toBeUndefined();
  });
});

describe('refused at creation, with a hint (400)', () => {
  const expired = () => createTestCertificate({ notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
  it.each([
    ['a certificate without its key', () => ({ certificate: { pem: cert.certPem } }), /no private key/],
    ['a key that is not the certificate\'s', () => ({ certificate: { pem: cert.certPem + createTestCertificate().keyPem } }), /belongs to none/],
    ['an expired certificate', () => { const e = expired(); return { certificate: { pem: e.certPem + e.keyPem } }; }, /expired on 2021-01-01/],
    ['garbage', () => ({ certificate: { pem: 'not a pem at all \u0000\u202e' } }), /no certificate/],
    ['a garbled certificate block', () => ({ certificate: { pem: `-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n${cert.keyPem}` } }), /cannot be read/],
    ['a secret and a certificate', () => ({ clientSecret: 'also-a-secret-value-0123', certificate: { pem: cert.certPem + cert.keyPem } }), /only credential/],
    ['no credential', () => ({}), /one credential/],
    ['a relative token file', () => ({ federated: { tokenFile: '../etc/passwd' } }), /absolute/],
  ])('%s', async (_what, payload, message) => {
    const res = await create(payload());
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', hint: expect.any(String) });
    expect(res.json().detail).toMatch(message);
    expect(res.body).not.toContain(cert.keyPem.split('\n')[1]!);
  });

  it.each([
    ['a huge PEM', { certificate: { pem: 'A'.repeat(200_000) } }],
    ['a number for pem', { certificate: { pem: 42 } }],
    ['a string for certificate', { certificate: 'PEM' }],
    ['an unknown field', { certificate: { pem: 'x', passphrase: 'p' } }],
    ['an array for federated', { federated: [] }],
    ['an empty token file', { federated: { tokenFile: '' } }],
  ])('%s fails schema validation', async (_what, payload) => {
    const res = await create(payload);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });
});

describe('federated credentials (workload identity)', () => {
  it('reads the token file for every token request: a replaced token is used by the next request', async () => {
    const file = join(dir, 'rotating-token');
    await writeFile(file, await issuer.mint({ subject: 'system:serviceaccount:mail:someone-else' }));
    const view = await created({ clientId: FED_APP, federated: { tokenFile: file } });
    expect(view.credential).toEqual({ type: 'federated', tokenFile: file });
    const refused = await verify(view.id);
    expect(refused.problems[0]).toMatchObject({ code: 'federated_credential_mismatch', aadstsCode: 700213, setupStep: 'client_secret' });

    await writeFile(file, `${await issuer.mint({ subject: SUBJECT })}\n`);
    const accepted = await verify(view.id);
    expect(accepted.problems).toEqual([]);
    expect(accepted.ok).toBe(true);

    await writeFile(file, await issuer.mint({ subject: SUBJECT, lifetimeSeconds: -3600 }));
    expect((await verify(view.id)).problems[0]).toMatchObject({ code: 'client_assertion_expired', aadstsCode: 700024 });
    await writeFile(file, await issuer.mint({ subject: SUBJECT, audience: 'api://SomethingElse' }));
    expect((await verify(view.id)).problems[0]).toMatchObject({ code: 'federated_credential_mismatch', aadstsCode: 700212 });
  });

  it('uses AZURE_FEDERATED_TOKEN_FILE when the connection names no file', async () => {
    await writeFile(defaultTokenFile, await issuer.mint({ subject: SUBJECT }));
    const view = await created({ clientId: FED_APP, federated: {} });
    expect(view.credential).toEqual({ type: 'federated' });
    expect((await verify(view.id)).ok).toBe(true);
  });

  it.each([
    ['missing', async (f: string) => { await rm(f, { force: true }); }, /does not exist/],
    ['empty', async (f: string) => { await writeFile(f, '  \n'); }, /is empty/],
    ['not a token', async (f: string) => { await writeFile(f, 'root:x:0:0:root:/root:/bin/bash\n'); }, /does not hold a JWT/],
    ['too large', async (f: string) => { await writeFile(f, 'a'.repeat(100_000)); }, /larger than/],
    ['a directory', async (f: string) => { await rm(f, { force: true }); await mkdir(f); }, /is a directory/],
  ])('a token file that is %s is a typed error with a hint, and nothing is sent', async (_what, spoil, message) => {
    const file = join(dir, `spoiled-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, await issuer.mint({ subject: SUBJECT }));
    const view = await created({ clientId: FED_APP, federated: { tokenFile: file } });
    await spoil(file);
    const before = fx.identity.tokenRequests({ clientId: FED_APP });
    const result = await verify(view.id);
    expect(result.problems[0]).toMatchObject({ code: 'federated_token_unavailable', setupStep: 'client_secret', hint: expect.stringMatching(/AZURE_FEDERATED_TOKEN_FILE/) });
    expect(result.problems[0]!.detail).toMatch(message);
    expect(result.problems[0]!.detail).not.toContain('root:x');
    expect(fx.identity.tokenRequests({ clientId: FED_APP })).toBe(before);
  });
});
