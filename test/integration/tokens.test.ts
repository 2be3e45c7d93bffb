/**
 * Tokens against the identity imitation, with the real MSAL library, through
 * the API: verify, every AADSTS code's meaning, transport failures named as
 * such, single flight across processes, and nothing readable in Redis.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { meaningOf } from '../../src/domain/tokens/aadsts.js';
import { buildTestApp, testEnv } from '../support/app.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { DAEMON, TENANT_A, startIdentityFixture, type IdentityFixture } from '../support/identity-fixture.js';

let fx: IdentityFixture;

const redis = useRedis();
beforeAll(async () => {
  fx = await startIdentityFixture();
});
afterAll(async () => {
  await fx?.close();
});
const t = useTestApp(() => ({ NODE_EXTRA_CA_CERTS: fx.pki.caCertFile }), redis);

beforeEach(() => {
  fx.identity.clearErrors();
});

async function createConnection(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: {
      name: 'daemon', flow: 'app_only', tenantId: TENANT_A, clientId: DAEMON.clientId,
      clientSecret: DAEMON.secret, authorityHost: fx.identity.url, ...overrides,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function verify(id: string) {
  const res = await t.app.inject({ method: 'POST', url: `/v1/connections/${id}/verify`, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { ok: boolean; roles: string[]; expiresAt: string | null; problems: { code: string; hint?: string; aadstsCode?: number; setupStep?: string; detail: string }[] };
}

describe('verify', () => {
  it('acquires an app-only token and reports its roles', async () => {
    const result = await verify(await createConnection());
    expect(result.ok).toBe(true);
    expect(result.roles).toEqual(expect.arrayContaining(['IMAP.AccessAsApp', 'SMTP.SendAsApp']));
    expect(Date.parse(result.expiresAt!)).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(result.problems).toEqual([]);
  });

  it('names a missing role with the permission step', async () => {
    const clientId = 'd0000000-0000-4000-8000-0000000000aa';
    fx.identity.addApp({ clientId, homeTenantId: TENANT_A, secrets: [{ id: 's', value: 'imap-only-secret-value' }], appRoles: ['IMAP.AccessAsApp'] });
    const result = await verify(await createConnection({ clientId, clientSecret: 'imap-only-secret-value' }));
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'missing_permission', setupStep: 'api_permissions', hint: expect.stringMatching(/SMTP.SendAsApp/) })]);
  });

  it.each([
    ['a wrong secret', { clientSecret: 'not-the-right-secret-value' }, 7000215],
    ['an expired secret', { clientSecret: 'expired-secret-value' }, 7000222],
    ['an unknown client id', { clientId: '99999999-0000-4000-8000-000000000000' }, 700016],
    ['an unknown tenant', { tenantId: '99999999-9999-4999-8999-999999999999' }, 90002],
  ])('maps %s naturally to its AADSTS meaning', async (_what, overrides, aadsts) => {
    const result = await verify(await createConnection(overrides));
    const meaning = meaningOf(aadsts)!;
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ code: meaning.code, aadstsCode: aadsts, setupStep: meaning.step, hint: meaning.hint });
  });

  it.each([7000215, 7000222, 700016, 90002, 65001, 70011, 50011, 500113, 700082, 70008, 50173, 50020, 90014, 9002313])(
    'AADSTS%i from the token endpoint yields its own code and hint', async (aadsts) => {
      const id = await createConnection();
      fx.identity.injectError({ aadsts, clientId: DAEMON.clientId, endpoint: 'token' });
      const result = await verify(id);
      const meaning = meaningOf(aadsts)!;
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toMatchObject({ code: meaning.code, aadstsCode: aadsts, hint: meaning.hint, setupStep: meaning.step });
      expect(result.problems[0]!.detail).toMatch(new RegExp(`^AADSTS${aadsts}:`));
    });

  it('names an unreachable identity platform as a network error, not an MSAL one', async () => {
    const id = await createConnection({ authorityHost: 'https://localhost:1' });
    const result = await verify(id);
    expect(result.problems[0]).toMatchObject({ code: 'identity_platform_unreachable', setupStep: 'network' });
    expect(result.problems[0]!.detail).toMatch(/ECONNREFUSED/);
  });

  it('names an untrusted certificate as a TLS error', async () => {
    const untrusting = await buildTestApp(redis.url, { NODE_EXTRA_CA_CERTS: '' });
    try {
      const res = await untrusting.app.inject({
        method: 'POST', url: '/v1/connections', headers: untrusting.auth,
        payload: { name: 'x', flow: 'app_only', tenantId: TENANT_A, clientId: DAEMON.clientId, clientSecret: DAEMON.secret, authorityHost: fx.identity.url },
      });
      const check = await untrusting.app.inject({ method: 'POST', url: `/v1/connections/${res.json().id}/verify`, headers: untrusting.auth });
      expect(check.json().problems[0]).toMatchObject({ code: 'identity_platform_tls_error', hint: expect.stringMatching(/NODE_EXTRA_CA_CERTS/) });
    } finally {
      await untrusting.close();
    }
  });

  it('never logs the secret or a token', async () => {
    await verify(await createConnection());
    expect(t.logs.text()).not.toContain(DAEMON.secret);
    expect(t.logs.text()).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});

describe('one token per connection, shared by every process', () => {
  function child(env: Record<string, string>) {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/support/token-child.ts'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const ready = new Promise<void>((resolve) => {
      const check = () => (out.includes('ready\n') ? resolve() : setTimeout(check, 20));
      check();
    });
    const done = new Promise<{ digest: string; fromCache: boolean }[]>((resolve, reject) => {
      proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.split('\n')[1]!)) : reject(new Error(`child exited ${code}`))));
    });
    return { proc, ready, done, go: () => proc.stdin!.write('go\n') };
  }

  it('20 concurrent requests from 2 processes cause exactly 1 token request; a later process reuses it', async () => {
    const clientId = 'd0000000-0000-4000-8000-0000000000bb';
    const secret = 'shared-daemon-secret-value';
    fx.identity.addApp({ clientId, homeTenantId: TENANT_A, secrets: [{ id: 's', value: secret }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
    const id = await createConnection({ clientId, clientSecret: secret });
    const env = {
      ...testEnv(redis.url),
      REDIS_PREFIX: t.config.redis.prefix,
      ENCRYPTION_KEY: t.config.encryption.key.toString('base64'),
      NODE_EXTRA_CA_CERTS: fx.pki.caCertFile,
      CONNECTION_ID: id,
      COUNT: '10',
    };
    const other = child(env);
    await other.ready;
    other.go();
    const mine = await Promise.all(Array.from({ length: 10 }, () => t.deps.services.tokens.appToken(id)));
    const theirs = await other.done;
    const digests = new Set([...mine.map((r) => createHash('sha256').update(r.accessToken).digest('hex').slice(0, 16)), ...theirs.map((r) => r.digest)]);
    expect(digests.size).toBe(1);
    expect(fx.identity.tokenRequests({ clientId })).toBe(1);

    const later = child(env);
    await later.ready;
    later.go();
    const reused = await later.done;
    expect(reused.every((r) => r.fromCache)).toBe(true);
    expect(fx.identity.tokenRequests({ clientId })).toBe(1);
  });

  it('keeps nothing readable in Redis', async () => {
    const id = await createConnection();
    const token = await t.deps.services.tokens.appToken(id);
    const keys = await t.deps.redis.keys(`${t.config.redis.prefix}*`);
    const tagged = await t.deps.redis.keys(`{${t.config.redis.prefix}}*`);
    expect(keys.some((k) => k.includes(':cache'))).toBe(true);
    for (const key of [...keys, ...tagged]) {
      if ((await t.deps.redis.type(key)) !== 'string') continue;
      const raw = (await t.deps.redis.get(key)) ?? '';
      expect(raw).not.toContain(token.accessToken.slice(0, 40));
      expect(raw).not.toMatch(/eyJ[\w-]{10,}/);
      expect(raw).not.toContain(DAEMON.secret);
    }
  });
});

describe('metrics', () => {
  it('counts token lookups by result, with bounded labels', async () => {
    const id = await createConnection();
    await t.deps.services.tokens.appToken(id);
    await t.deps.services.tokens.appToken(id);
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/mailsync_token_requests_total\{result="hit",code=""\} [1-9]/);
    expect(res.body).toMatch(/mailsync_token_requests_total\{result="error",code="invalid_client_secret"\} [1-9]/);
    expect(res.body).not.toContain(id);
    expect(res.body).not.toContain(DAEMON.clientId);
  });
});
