/**
 * The Microsoft sign-in provider against the sandbox, with the real MSAL
 * library: the login start, the cookie that binds the sign-in to its
 * browser, the callback's own ID token verification, the one-time login
 * code and its exchange, a connection's own returnTo allow-list, and what is
 * refused (a callback in another browser, a forged ID token, a wrong nonce,
 * returnTo outside the allow-list, a reused or expired code, a disabled
 * provider), without codes, states, cookies or tokens in the logs.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_DELEGATED, SANDBOX_TENANT } from '../../sandbox/index.js';
import type { SigningKey } from '../../sandbox/pki.js';
import { freePort } from '../../sandbox/ports.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { arrive, browserAgent, cookieHeaderFrom, followAuthorize } from '../support/oauth-browser.js';

let agent: Agent;
let connectionId: string;
/** The application that uses the service as its login provider (never contacted: the test plays its browser). */
let appOrigin: string;
const seen: string[] = [];

let publicUrl: string;
beforeAll(async () => {
  publicUrl = `http://127.0.0.1:${await freePort()}`;
  appOrigin = `http://127.0.0.1:${await freePort()}`;
});
const sandbox = useSandbox(() => ({ publicUrl }));
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(),
  PUBLIC_URL: publicUrl,
  LOGIN_RETURN_TO_ALLOWLIST: `${appOrigin}/app/, https://portal.example.com`,
}), () => sandbox.redis);
beforeAll(async () => {
  agent = browserAgent(sandbox.pki.caCertPem);
  connectionId = await connection(t);
});

afterAll(async () => {
  await agent?.close();
});

beforeEach(() => {
  sandbox.identity.signInAs(null);
  sandbox.identity.signIdTokensWith(null);
  sandbox.identity.clearErrors();
});

async function connection(app: TestApp): Promise<string> {
  const res = await app.app.inject({
    method: 'POST', url: '/v1/connections', headers: app.auth,
    payload: { name: 'login', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

function login(returnTo: string, id = connectionId, app = t) {
  return app.app.inject({ method: 'GET', url: `/v1/connections/${id}/login?returnTo=${encodeURIComponent(returnTo)}` });
}

function exchange(code: string, headers: Record<string, string> = t.auth) {
  return t.app.inject({ method: 'POST', url: '/v1/login/exchange', headers, payload: { code } });
}

/**
 * Login start → Microsoft (the imitation signs in) → our callback, carrying the start's cookie as a browser
 * does; `tamper` may edit Microsoft's URL first.
 */
async function signIn(returnTo: string, tamper: (url: URL) => void = () => undefined, id = connectionId) {
  const start = await login(returnTo, id);
  expect(start.statusCode, start.body).toBe(302);
  const authorize = new URL(start.headers.location as string);
  const cookie = cookieHeaderFrom(start);
  seen.push(authorize.searchParams.get('state')!, cookie.split('=')[1]!);
  tamper(authorize);
  const answer = await followAuthorize(agent, authorize);
  expect(answer.location, answer.html).toBeDefined();
  seen.push(answer.location!.searchParams.get('code')!);
  return { start, authorize, cookie, answer: answer.location!, callback: await arrive(t, answer.location!, cookie) };
}

/** The login code of a sign-in that came back to returnTo. */
function codeOf(callback: { statusCode: number; body: string; headers: Record<string, unknown> }): string {
  expect(callback.statusCode, callback.body).toBe(302);
  const code = new URL(callback.headers.location as string).searchParams.get('code')!;
  seen.push(code);
  return code;
}

function expectPage(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.location).toBeUndefined();
  expect(res.body).toContain(code);
}

function foreignKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

describe('signing in with Microsoft', () => {
  it('redirects to Microsoft with OpenID scopes, PKCE, a nonce and a one-time state, without an API key', async () => {
    const res = await login(`${appOrigin}/app/done`);
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const url = new URL(res.headers.location as string);
    expect(url.origin + url.pathname).toBe(`${sandbox.identity.url}/${SANDBOX_TENANT.id}/oauth2/v2.0/authorize`);
    expect(url.searchParams.get('scope')!.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(url.searchParams.get('scope')).not.toMatch(/IMAP|SMTP/);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('login_hint')).toBeNull();
    seen.push(url.searchParams.get('state')!);
  });

  it('verifies the ID token, sends the browser back with a one-time code, and the exchange answers the claims', async () => {
    const carol = sandbox.identity.addUser({ upn: 'carol@contoso.example', tenantId: SANDBOX_TENANT.id, name: 'Carol Example' });
    sandbox.identity.signInAs(carol.upn);
    const { callback } = await signIn(`${appOrigin}/app/done?next=%2Finbox`);
    expect(callback.statusCode, callback.body).toBe(302);
    expect(callback.headers['cache-control']).toBe('no-store');
    const back = new URL(callback.headers.location as string);
    expect(back.origin + back.pathname).toBe(`${appOrigin}/app/done`);
    expect(back.searchParams.get('next')).toBe('/inbox');
    const code = back.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    seen.push(code);

    const res = await exchange(code);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      oid: carol.oid, tid: SANDBOX_TENANT.id, email: carol.upn, name: 'Carol Example', preferredUsername: carol.upn,
      connectionId, tenantId: SANDBOX_TENANT.id,
    });

    const again = await exchange(code);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ code: 'login_code_invalid' });
  });

  it('verifies a multi-tenant sign-in (organizations): the issuer template takes the token\'s tenant', async () => {
    sandbox.identity.updateApp(SANDBOX_DELEGATED.clientId, { multiTenant: true });
    const res = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'multi', flow: 'delegated', tenantId: null, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url },
    });
    expect(res.json().authority).toBe(`${sandbox.identity.url}/organizations`);
    const { authorize, callback } = await signIn(`${appOrigin}/app/multi`, undefined, res.json().id as string);
    expect(authorize.pathname).toBe('/organizations/oauth2/v2.0/authorize');
    expect((await exchange(codeOf(callback))).json()).toMatchObject({
      tid: SANDBOX_TENANT.id, tenantId: SANDBOX_TENANT.id, connectionId: res.json().id, preferredUsername: expect.stringMatching(/@contoso\.example$/),
    });
  });

  it('keeps no Microsoft token and stores the login code only as a digest, encrypted, for 60 s', async () => {
    const { callback } = await signIn('https://portal.example.com/welcome');
    const code = new URL(callback.headers.location as string).searchParams.get('code')!;
    seen.push(code);
    const key = t.deps.keys.loginCode(createHash('sha256').update(code).digest('base64url'));
    const ttl = await t.deps.redis.ttl(key);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    expect((await t.deps.redis.get(key))!.startsWith('ms1.')).toBe(true);
    expect(await t.deps.redis.keys('*:cache')).toEqual([]);
    // An expired code is as good as a used one.
    await t.deps.redis.pexpire(key, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await exchange(code)).json()).toMatchObject({ code: 'login_code_invalid' });
  });

  it('the exchange needs the API key and a well-formed code', async () => {
    expect((await exchange('A'.repeat(43), {})).statusCode).toBe(401);
    expect((await exchange('not a code')).json()).toMatchObject({ code: 'login_code_invalid' });
    const extra = await t.app.inject({ method: 'POST', url: '/v1/login/exchange', headers: t.auth, payload: { code: 'x', admin: true } });
    expect(extra.statusCode).toBe(400);
  });
});

describe('the sign-in is bound to the browser that started it (login CSRF)', () => {
  const cookieLines = (res: { headers: Record<string, unknown> }): string[] => {
    const raw = res.headers['set-cookie'];
    return Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
  };

  it('the start sets a cookie of its own: HttpOnly, SameSite=Lax, Path=/, 10 minutes; on an http PUBLIC_URL without Secure or __Host-', async () => {
    const res = await login(`${appOrigin}/app/done`);
    expect(res.statusCode).toBe(302);
    const [line, ...others] = cookieLines(res);
    expect(others).toEqual([]);
    expect(line).toMatch(/^mailsync_signin_[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}; /);
    const attributes = line!.split('; ').slice(1);
    expect(attributes.sort()).toEqual(['HttpOnly', 'Max-Age=600', 'Path=/', 'SameSite=Lax']);
    seen.push(new URL(res.headers.location as string).searchParams.get('state')!, line!.split(';')[0]!.split('=')[1]!);
    // The state record keeps the secret's digest only.
    expect(await t.deps.redis.keys(`*${line!.split(';')[0]!.split('=')[1]}*`)).toEqual([]);
  });

  it('refuses the same callback URL in a browser without the cookie, and lets the browser that started it finish', async () => {
    const start = await login(`${appOrigin}/app/done`);
    const cookie = cookieHeaderFrom(start);
    const [name, secret] = cookie.split('=') as [string, string];
    seen.push(new URL(start.headers.location as string).searchParams.get('state')!, secret);
    const answer = await followAuthorize(agent, start.headers.location as string);
    const callback = answer.location!;
    seen.push(callback.searchParams.get('code')!);
    const codes = async () => (await t.deps.redis.keys(t.deps.keys.loginCode('*'))).length;
    const before = await codes();

    // Another browser: no cookie, a forged value under the right name, another sign-in's cookie.
    const other = cookieHeaderFrom(await login(`${appOrigin}/app/done`));
    seen.push(other.split('=')[1]!);
    for (const jar of [undefined, `${name}=${'A'.repeat(43)}`, other, `${name}=${secret}x`]) {
      const refused = await arrive(t, callback, jar);
      expectPage(refused, 400, 'sign_in_not_bound');
      expect(refused.body).toContain('started in another browser');
      expect(refused.headers['set-cookie']).toBeUndefined();
    }
    expect(await codes()).toBe(before);

    // The browser that started it: on to returnTo with a login code, and its cookie cleared.
    const done = await arrive(t, callback, cookie);
    const code = codeOf(done);
    expect((await exchange(code)).statusCode).toBe(200);
    expect(cookieLines(done)).toEqual([`${name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`]);
    // Used up: even with its cookie, the callback works once.
    expectPage(await arrive(t, callback, cookie), 400, 'oauth_state_invalid');
  });

  it('two sign-ins started in one browser each finish with their own cookie', async () => {
    const first = await login(`${appOrigin}/app/one`);
    const second = await login(`${appOrigin}/app/two`);
    const jar = [cookieHeaderFrom(first), cookieHeaderFrom(second)].join('; ');
    seen.push(...jar.split('; ').map((c) => c.split('=')[1]!));
    const answers = [await followAuthorize(agent, second.headers.location as string), await followAuthorize(agent, first.headers.location as string)];
    seen.push(...answers.map((a) => a.location!.searchParams.get('code')!), ...answers.map((a) => a.location!.searchParams.get('state')!));
    const backs = [];
    for (const answer of answers) backs.push(new URL((await arrive(t, answer.location!, jar)).headers.location as string).pathname);
    expect(backs).toEqual(['/app/two', '/app/one']);
  });

  it('a failed sign-in uses its cookie up too (cleared with the state)', async () => {
    sandbox.identity.signIdTokensWith(foreignKey('forged-kid'));
    const { callback, cookie } = await signIn(`${appOrigin}/app/done`);
    expectPage(callback, 400, 'id_token_invalid');
    expect(callback.headers['set-cookie']).toBe(`${cookie.split('=')[0]}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`);
  });

  it('on an https PUBLIC_URL the cookie is __Host- and Secure', async () => {
    const secure = await buildTestApp(sandbox.redis.url, {
      ...sandbox.serviceEnv(), PUBLIC_URL: 'https://signin.example.com', LOGIN_RETURN_TO_ALLOWLIST: 'https://app.example.com',
    });
    try {
      const res = await login('https://app.example.com/done', await connection(secure), secure);
      expect(res.statusCode, res.body).toBe(302);
      const [line] = cookieLines(res);
      expect(line).toMatch(/^__Host-mailsync_signin_[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}; /);
      expect(line!.split('; ').slice(1).sort()).toEqual(['HttpOnly', 'Max-Age=600', 'Path=/', 'SameSite=Lax', 'Secure']);
      seen.push(new URL(res.headers.location as string).searchParams.get('state')!, line!.split(';')[0]!.split('=')[1]!);
    } finally {
      await secure.close();
    }
  });
});

describe("a connection's own returnTo allow-list", () => {
  async function connectionWith(loginReturnTo: unknown, app = t) {
    return app.app.inject({
      method: 'POST', url: '/v1/connections', headers: app.auth,
      payload: { name: 'own list', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url, loginReturnTo },
    });
  }

  it('is set on POST, shown normalised, used instead of LOGIN_RETURN_TO_ALLOWLIST, and PATCH null goes back to it', async () => {
    const made = await connectionWith(['https://Other.example.com/', `${appOrigin}/only/`]);
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json().id as string;
    expect(made.json().loginReturnTo).toEqual(['https://other.example.com', `${appOrigin}/only/`]);
    expect((await t.app.inject({ method: 'GET', url: `/v1/connections/${id}`, headers: t.auth })).json().loginReturnTo)
      .toEqual(['https://other.example.com', `${appOrigin}/only/`]);
    expect((await t.app.inject({ method: 'GET', url: `/v1/connections/${connectionId}`, headers: t.auth })).json().loginReturnTo).toBeNull();

    // Under the service-wide list but not the connection's: refused; under the connection's: allowed.
    expectPage(await login(`${appOrigin}/app/done`, id), 400, 'return_to_not_allowed');
    expectPage(await login('https://portal.example.com/x', id), 400, 'return_to_not_allowed');
    for (const target of ['https://other.example.com/x', `${appOrigin}/only/x`]) {
      const res = await login(target, id);
      expect(res.statusCode, res.body).toBe(302);
      seen.push(new URL(res.headers.location as string).searchParams.get('state')!);
    }
    // And the exchange says which connection the identity came through.
    const { callback } = await signIn(`${appOrigin}/only/done`, undefined, id);
    expect((await exchange(codeOf(callback))).json()).toMatchObject({ connectionId: id, tenantId: SANDBOX_TENANT.id });

    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/connections/${id}`, headers: t.auth, payload: { loginReturnTo: null } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().loginReturnTo).toBeNull();
    expectPage(await login(`${appOrigin}/only/x`, id), 400, 'return_to_not_allowed');
    const back = await login(`${appOrigin}/app/done`, id);
    expect(back.statusCode).toBe(302);
    seen.push(new URL(back.headers.location as string).searchParams.get('state')!);

    const set = await t.app.inject({ method: 'PATCH', url: `/v1/connections/${id}`, headers: t.auth, payload: { loginReturnTo: ['https://third.example.com/auth'] } });
    expect(set.json().loginReturnTo).toEqual(['https://third.example.com/auth']);
  });

  it('refuses entries LOGIN_RETURN_TO_ALLOWLIST would refuse, naming each', async () => {
    const res = await connectionWith(['https://ok.example.com', 'http://app.example.com', 'https://*.example.com', 'not a url', 'https://a.example.com/?q=1']);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual([
      '/body/loginReturnTo/1', '/body/loginReturnTo/2', '/body/loginReturnTo/3', '/body/loginReturnTo/4',
    ]);
    expect(res.json().detail).toMatch(/plain http is allowed for localhost only/);
    for (const bad of [[], 'https://app.example.com', ['https://a.example.com', 'https://a.example.com']]) {
      expect((await connectionWith(bad)).statusCode).toBe(400);
    }
    const patch = await t.app.inject({ method: 'PATCH', url: `/v1/connections/${connectionId}`, headers: t.auth, payload: { loginReturnTo: ['ftp://x.example.com'] } });
    expect(patch.statusCode).toBe(400);
  });

  it('enables sign-in through that connection when LOGIN_RETURN_TO_ALLOWLIST is empty', async () => {
    const off = await buildTestApp(sandbox.redis.url, { ...sandbox.serviceEnv() });
    try {
      const own = (await connectionWith([`${appOrigin}/app/`], off)).json().id as string;
      const res = await login(`${appOrigin}/app/done`, own, off);
      expect(res.statusCode, res.body).toBe(302);
      seen.push(new URL(res.headers.location as string).searchParams.get('state')!);
      expectPage(await login(`${appOrigin}/app/done`, await connection(off), off), 403, 'sign_in_disabled');
    } finally {
      await off.close();
    }
  });
});

describe('refused sign-ins', () => {
  it('refuses an ID token signed with a key Microsoft does not publish (same kid)', async () => {
    sandbox.identity.signIdTokensWith(foreignKey(sandbox.pki.signingKey.kid));
    const { callback } = await signIn(`${appOrigin}/app/done`);
    expectPage(callback, 400, 'id_token_invalid');
    expect(callback.body).toContain('could not be verified');
    // Which check failed is for support: in the log, not on the page.
    expect(t.logs.text()).toContain('signature does not verify');
  });

  it('refuses an ID token signed under an unknown kid', async () => {
    sandbox.identity.signIdTokensWith(foreignKey('forged-kid'));
    const { callback } = await signIn(`${appOrigin}/app/done`);
    expectPage(callback, 400, 'id_token_invalid');
    expect(t.logs.text()).toContain('a key the identity platform does not publish');
  });

  it('refuses a response to another sign-in (the nonce in the authorize request was swapped)', async () => {
    const { callback } = await signIn(`${appOrigin}/app/done`, (url) => url.searchParams.set('nonce', 'attacker-chosen-nonce-value'));
    expectPage(callback, 400, 'id_token_invalid');
    expect(t.logs.text()).toContain('nonce does not match');
  });

  it.each([
    ['another origin', 'https://evil.example/app/'],
    ['another port', 'http://127.0.0.1:1/app/'],
    ['a path outside the prefix', '/other'],
    ['a look-alike prefix', '/application'],
    ['dot segments', '/app/../admin'],
    ['encoded dot segments', '/app/%2e%2e/admin'],
    ['credentials', 'http://user:pass@127.0.0.1/app/'],
    ['a javascript URL', 'javascript:alert(1)//'],
    ['a relative URL', '//evil.example/app/'],
    ['https on the http origin', 'https://127.0.0.1/app/'],
  ])('refuses returnTo with %s', async (_what, target) => {
    const returnTo = target.startsWith('/') && !target.startsWith('//') ? `${appOrigin}${target}` : target;
    const before = (await t.deps.redis.keys(t.deps.keys.oauthState('*'))).length;
    const res = await login(returnTo);
    expectPage(res, 400, 'return_to_not_allowed');
    expect(res.body).not.toContain('alert(1)');
    expect((await t.deps.redis.keys(t.deps.keys.oauthState('*'))).length).toBe(before);
  });

  it('answers pages for a missing or oversized returnTo and an unknown connection', async () => {
    expectPage(await t.app.inject({ method: 'GET', url: `/v1/connections/${connectionId}/login` }), 400, 'validation_failed');
    expectPage(await login(`${appOrigin}/app/${'x'.repeat(3000)}`), 400, 'validation_failed');
    expectPage(await login(`${appOrigin}/app/`, 'con_AAAAAAAAAAAAAAAA'), 404, 'not_found');
  });

  it('is disabled (403) when LOGIN_RETURN_TO_ALLOWLIST is empty', async () => {
    const off = await buildTestApp(sandbox.redis.url, { ...sandbox.serviceEnv() });
    try {
      const res = await login(`${appOrigin}/app/`, await connection(off), off);
      expectPage(res, 403, 'sign_in_disabled');
      expect(res.body).toContain('LOGIN_RETURN_TO_ALLOWLIST');
    } finally {
      await off.close();
    }
  });

  it('works for app-only connections too (the app registration is the same)', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'daemon', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    const start = await login(`${appOrigin}/app/`, res.json().id as string);
    expect(start.statusCode).toBe(302);
    seen.push(new URL(start.headers.location as string).searchParams.get('state')!);
  });
});

describe('logs', () => {
  it('hold no login code, state, authorization code or token', () => {
    const text = t.logs.text();
    expect(seen.length).toBeGreaterThan(10);
    for (const value of seen.filter((v) => v && v.length > 8)) expect(text).not.toContain(value);
    expect(text).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}/);
    expect(text).not.toContain(SANDBOX_DELEGATED.secret);
  });
});
