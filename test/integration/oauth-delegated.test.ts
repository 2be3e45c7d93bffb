/**
 * "Set up / Renew OAuth connection" against the sandbox, with the real MSAL
 * library: the authorize URL, the callback page, the mailbox's state, the
 * refresh token at work after the access token expired, and every way the
 * sign-in can fail (wrong account, another person with the mailbox's
 * address at renewal, replayed or expired state, declined consent, AADSTS
 * from the token endpoint, a revoked grant), without a code,
 * state, token or secret in the logs. Hostile query strings: oauth-callback-input.test.ts.
 */
import { createHash } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import type { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_DELEGATED, SANDBOX_TENANT, SANDBOX_USERS } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { meaningOf } from '../../src/domain/tokens/aadsts.js';
import { escapeHtml } from '../../src/http/pages/oauth-page.js';
import { mailboxPartition } from '../../src/domain/tokens/token-service.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { arrive, browserAgent, expectPage, followAuthorize, signInThrough, stateOf } from '../support/oauth-browser.js';

let agent: Agent;
let publicUrl: string;
/** Every code and state a browser carried, to prove none reached a log line. */
const seen: string[] = [];

beforeAll(async () => {
  publicUrl = `http://127.0.0.1:${await freePort()}`;
});
const sandbox = useSandbox(() => ({ publicUrl }));
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), PUBLIC_URL: publicUrl }), () => sandbox.redis);
beforeAll(() => {
  agent = browserAgent(sandbox.pki.caCertPem);
});

afterAll(async () => {
  await agent?.close();
});

beforeEach(() => {
  sandbox.identity.signInAs(null);
  sandbox.identity.denyConsent(false);
  sandbox.identity.clearErrors();
  sandbox.identity.setAccessTokenLifetime(3599);
});

async function connection(flow: 'delegated' | 'app_only' = 'delegated'): Promise<string> {
  const app = flow === 'delegated' ? SANDBOX_DELEGATED : SANDBOX_APP_ONLY;
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: `sandbox ${flow}`, flow, tenantId: SANDBOX_TENANT.id, clientId: app.clientId, clientSecret: app.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

/** A new delegated mailbox (on its own connection, so the sandbox's two users go a long way). */
async function mailbox(email: string = SANDBOX_USERS.support, flow: 'delegated' | 'app_only' = 'delegated') {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: await connection(flow), email, ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; state: string; authorizeUrl?: string; connectionId: string };
}

async function view(id: string) {
  const res = await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function authorize(id: string): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/authorize`, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  const url = res.json().authorizeUrl as string;
  seen.push(stateOf(url));
  return url;
}

async function signIn(authorizeUrl: string) {
  const result = await signInThrough(t, agent, authorizeUrl);
  seen.push(result.callback.searchParams.get('code') ?? '', result.callback.searchParams.get('state') ?? '');
  return result;
}

async function connected(email: string = SANDBOX_USERS.support) {
  const box = await mailbox(email);
  const { res } = await signIn(box.authorizeUrl!);
  expect(res.statusCode, res.body).toBe(200);
  return box;
}

async function readSubject(user: string, accessToken: string): Promise<string | undefined> {
  const client = new ImapFlow({ ...sandbox.mailServers().imap, auth: { user, accessToken }, tls: { ca: [sandbox.pki.caCertPem] }, logger: false });
  await client.connect();
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const message = await client.fetchOne('*', { envelope: true });
      return message ? message.envelope?.subject : undefined;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

const redirectUri = () => `${publicUrl}/v1/oauth/callback`;

describe('the authorize URL', () => {
  it('comes with a new delegated mailbox: PKCE S256, one-time state, nonce, login_hint, select_account, the mail scopes, our callback', async () => {
    const box = await mailbox();
    expect(box.state).toBe('pending_authorization');
    const url = new URL(box.authorizeUrl!);
    expect(url.origin + url.pathname).toBe(`${sandbox.identity.url}/${SANDBOX_TENANT.id}/oauth2/v2.0/authorize`);
    const q = url.searchParams;
    expect(q.get('client_id')).toBe(SANDBOX_DELEGATED.clientId);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('redirect_uri')).toBe(redirectUri());
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('login_hint')).toBe(SANDBOX_USERS.support);
    expect(q.get('prompt')).toBe('select_account');
    expect(q.get('scope')!.split(' ')).toEqual(expect.arrayContaining([
      'https://outlook.office.com/IMAP.AccessAsUser.All', 'https://outlook.office.com/SMTP.Send', 'offline_access',
    ]));
  });

  it('keeps the state in Redis for 10 minutes, under its digest, encrypted', async () => {
    const url = await authorize((await mailbox()).id);
    const state = stateOf(url);
    const key = t.deps.keys.oauthState(createHash('sha256').update(state).digest('base64url'));
    const ttl = await t.deps.redis.ttl(key);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    const raw = (await t.deps.redis.get(key))!;
    expect(raw.startsWith('ms1.')).toBe(true);
    expect(raw).not.toContain(new URL(url).searchParams.get('nonce')!);
    expect((await t.deps.redis.keys(`*${state}*`))).toEqual([]);
  });

  it('is refused for an app-only mailbox (409) and an unknown one (404), and needs the API key', async () => {
    const appOnly = await mailbox(SANDBOX_USERS.support, 'app_only');
    expect(appOnly.authorizeUrl).toBeUndefined();
    const res = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${appOnly.id}/authorize`, headers: t.auth });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'conflict', detail: expect.stringMatching(/app-only connection/) });
    const unknown = await t.app.inject({ method: 'POST', url: '/v1/mailboxes/mbx_AAAAAAAAAAAAAAAA/authorize', headers: t.auth });
    expect(unknown.statusCode).toBe(404);
    const anonymous = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${appOnly.id}/authorize` });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('signing in as the mailbox user', () => {
  it('connects the mailbox: a page naming the account, state active, mailbox.authorized, and the token opens the mailbox over XOAUTH2', async () => {
    const publish = vi.spyOn(t.deps.events, 'publish');
    await sandbox.dovecot.deliver(SANDBOX_USERS.support, 'From: a@x.example\r\nTo: support@contoso.example\r\nSubject: Delegated hello\r\nMessage-ID: <d1@x.example>\r\n\r\nHi!\r\n');
    const box = await mailbox();
    const { res } = await signIn(box.authorizeUrl!);
    expectPage(res, 200);
    expect(res.body).toContain('Mailbox connected');
    expect(res.body).toContain(`${SANDBOX_USERS.support} is now connected`);

    const after = await view(box.id);
    expect(after).toMatchObject({ state: 'active', lastError: null, account: { username: SANDBOX_USERS.support } });
    expect(publish).toHaveBeenCalledWith(expect.objectContaining({ type: 'mailbox.authorized', data: { mailboxId: box.id, email: SANDBOX_USERS.support } }));
    publish.mockRestore();

    const token = await t.deps.services.mailboxTokens.tokenFor(box.id);
    expect(token.claims.scopes).toEqual(expect.arrayContaining(['IMAP.AccessAsUser.All', 'SMTP.Send']));
    expect(token.claims.upn).toBe(SANDBOX_USERS.support);
    expect(await readSubject(SANDBOX_USERS.support, token.accessToken)).toBe('Delegated hello');
    // The sign-in was redeemed into a staging partition that is gone; the mailbox's partition holds it, encrypted.
    expect(await t.deps.redis.keys('*signin:*')).toEqual([]);
    expect((await t.deps.redis.get(t.deps.keys.tokenCache(mailboxPartition(box.id))))!.startsWith('ms1.')).toBe(true);
  });

  it('renews an active mailbox with the same call', async () => {
    const box = await connected();
    const first = (await view(box.id)).account.authorizedAt as string;
    const { res } = await signIn(await authorize(box.id));
    expectPage(res, 200);
    const after = await view(box.id);
    expect(after.state).toBe('active');
    expect(Date.parse(after.account.authorizedAt)).toBeGreaterThanOrEqual(Date.parse(first));
    await expect(t.deps.services.mailboxTokens.tokenFor(box.id)).resolves.toMatchObject({ claims: { upn: SANDBOX_USERS.support } });
  });
});

describe('a sign-in that must not connect the mailbox', () => {
  it('refuses another account, keeps none of its tokens, and says who signed in and to use a private window', async () => {
    const box = await mailbox();
    sandbox.identity.signInAs(SANDBOX_USERS.alice);
    const { res } = await signIn(box.authorizeUrl!);
    expectPage(res, 400);
    expect(res.body).toContain('wrong_account');
    expect(res.body).toContain(`You signed in as ${SANDBOX_USERS.alice}, but this mailbox is ${SANDBOX_USERS.support}`);
    expect(res.body).toMatch(/private browser window/);
    expect((await view(box.id))).toMatchObject({ state: 'pending_authorization', account: null });
    expect(await t.deps.redis.exists(t.deps.keys.tokenCache(mailboxPartition(box.id)))).toBe(0);
    expect(await t.deps.redis.keys('*signin:*')).toEqual([]);
  });

  it('a wrong account while renewing leaves the working sign-in as it was', async () => {
    const box = await connected();
    const before = await t.deps.redis.get(t.deps.keys.tokenCache(mailboxPartition(box.id)));
    sandbox.identity.signInAs(SANDBOX_USERS.alice);
    const { res } = await signIn(await authorize(box.id));
    expectPage(res, 400);
    expect(await t.deps.redis.get(t.deps.keys.tokenCache(mailboxPartition(box.id)))).toBe(before);
    expect((await view(box.id))).toMatchObject({ state: 'active', account: { username: SANDBOX_USERS.support } });
    await expect(t.deps.services.mailboxTokens.tokenFor(box.id, { forceRefresh: true })).resolves.toMatchObject({ claims: { upn: SANDBOX_USERS.support } });
  });

  /** The mailbox record as stored (the view does not show oid and tid). */
  async function stored(id: string) {
    return JSON.parse((await t.deps.redis.get(t.deps.keys.mailbox(id)))!) as { account: { oid?: string; tenantId?: string; username: string } | null };
  }

  async function renewalRefused(box: { id: string }, as: string) {
    const before = await t.deps.redis.get(t.deps.keys.tokenCache(mailboxPartition(box.id)));
    const account = (await stored(box.id)).account;
    sandbox.identity.signInAs(as);
    const { res } = await signIn(await authorize(box.id));
    expectPage(res, 400);
    expect(res.body).toContain('wrong_account');
    expect(res.body).toContain('not the account this mailbox was first connected with');
    // Nothing changed: the working sign-in, its tokens, the account it names.
    expect(await t.deps.redis.get(t.deps.keys.tokenCache(mailboxPartition(box.id)))).toBe(before);
    expect((await stored(box.id)).account).toEqual(account);
    expect(await t.deps.redis.keys('*signin:*')).toEqual([]);
  }

  it('a renewal by another person whose email claim is the mailbox address is refused: the same oid and tid must sign in', async () => {
    const owner = sandbox.identity.addUser({ upn: 'shared@contoso.example', tenantId: SANDBOX_TENANT.id, name: 'Shared' });
    const box = await connected(owner.upn);
    expect((await stored(box.id)).account).toMatchObject({ oid: owner.oid, tenantId: SANDBOX_TENANT.id, username: owner.upn });
    // An administrator may set any address as a user's mail attribute: the ID token's email claim.
    const mallory = sandbox.identity.addUser({ upn: 'mallory@contoso.example', tenantId: SANDBOX_TENANT.id, email: owner.upn });
    await renewalRefused(box, mallory.upn);
    expect((await view(box.id))).toMatchObject({ state: 'active', account: { username: owner.upn } });
    // The owner still renews.
    sandbox.identity.signInAs(owner.upn);
    expectPage((await signIn(await authorize(box.id))).res, 200);
  });

  it('a UPN given again to a new account (another oid) does not renew the mailbox', async () => {
    const first = sandbox.identity.addUser({ upn: 'reused@contoso.example', tenantId: SANDBOX_TENANT.id });
    const box = await connected(first.upn);
    const again = sandbox.identity.addUser({ upn: 'reused@contoso.example', tenantId: SANDBOX_TENANT.id });
    expect(again.oid).not.toBe(first.oid);
    await renewalRefused(box, again.upn);
  });

  it('a mailbox signed in before oid and tid were kept accepts its address once, then holds them', async () => {
    const owner = sandbox.identity.addUser({ upn: 'legacy@contoso.example', tenantId: SANDBOX_TENANT.id });
    const box = await connected(owner.upn);
    const key = t.deps.keys.mailbox(box.id);
    const record = JSON.parse((await t.deps.redis.get(key))!);
    delete record.account.oid;
    delete record.account.tenantId;
    await t.deps.redis.set(key, JSON.stringify(record));

    sandbox.identity.signInAs(owner.upn);
    expectPage((await signIn(await authorize(box.id))).res, 200);
    expect((await stored(box.id)).account).toMatchObject({ oid: owner.oid, tenantId: SANDBOX_TENANT.id });
    const mallory = sandbox.identity.addUser({ upn: 'mallory2@contoso.example', tenantId: SANDBOX_TENANT.id, email: owner.upn });
    await renewalRefused(box, mallory.upn);
  });

  it('refuses a replayed callback: the state works once', async () => {
    const box = await mailbox();
    const { callback, res } = await signIn(box.authorizeUrl!);
    expectPage(res, 200);
    const replay = await arrive(t, callback);
    expectPage(replay, 400);
    expect(replay.body).toContain('oauth_state_invalid');
    expect(replay.body).toMatch(/expired .*already used/);
  });

  it('refuses an expired state (past its 10 minutes in Redis)', async () => {
    const box = await mailbox();
    const state = stateOf(box.authorizeUrl!);
    const answer = await followAuthorize(agent, box.authorizeUrl!);
    seen.push(answer.location!.searchParams.get('code')!);
    const key = t.deps.keys.oauthState(createHash('sha256').update(state).digest('base64url'));
    expect(await t.deps.redis.pexpire(key, 1)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const res = await arrive(t, answer.location!);
    expectPage(res, 400);
    expect(res.body).toContain('oauth_state_invalid');
    expect((await view(box.id)).state).toBe('pending_authorization');
  });

  it('says the user declined consent, with the admin-consent hint', async () => {
    const box = await mailbox();
    sandbox.identity.denyConsent(true);
    const { callback, res } = await signIn(box.authorizeUrl!);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expectPage(res, 400);
    expect(res.body).toContain('oauth_denied');
    expect(res.body).toContain('The user declined consent');
    expect(res.body).toMatch(/Grant admin consent/);
    // The state went with the refusal.
    expectPage(await arrive(t, callback), 400);
  });

  it.each([7000215, 50011, 70008])('shows AADSTS%i from the token endpoint with its hint', async (aadsts) => {
    const box = await mailbox();
    sandbox.identity.injectError({ aadsts, clientId: SANDBOX_DELEGATED.clientId, endpoint: 'token', grantType: 'authorization_code', times: 1 });
    const { res } = await signIn(box.authorizeUrl!);
    const meaning = meaningOf(aadsts)!;
    expectPage(res, 422);
    expect(res.body).toContain(meaning.code);
    expect(res.body).toContain(`AADSTS${aadsts}`);
    expect(res.body).toContain(escapeHtml(meaning.hint));
    expect((await view(box.id)).state).toBe('pending_authorization');
  });
});

describe('after the sign-in', () => {
  it('refreshes with the stored refresh token once the access token has expired', async () => {
    // MSAL renews 300 s before expiry and keeps nothing that lives <= 300 s; a 305 s token is
    // served from the cache for its first 5 s and is "expired" after that, in real time.
    sandbox.identity.setAccessTokenLifetime(305);
    await sandbox.dovecot.deliver(SANDBOX_USERS.support, 'From: a@x.example\r\nTo: support@contoso.example\r\nSubject: After refresh\r\nMessage-ID: <d2@x.example>\r\n\r\nHi!\r\n');
    const box = await connected();
    const refreshes = () => sandbox.identity.tokenRequests({ clientId: SANDBOX_DELEGATED.clientId, grantType: 'refresh_token' });
    const before = refreshes();
    const first = await t.deps.services.mailboxTokens.tokenFor(box.id);
    expect(first.fromCache).toBe(true);
    expect(refreshes()).toBe(before);

    await new Promise((resolve) => setTimeout(resolve, first.expiresAt.getTime() - 300_000 - Date.now() + 1_200));
    const second = await t.deps.services.mailboxTokens.tokenFor(box.id);
    expect(second.fromCache).toBe(false);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(refreshes()).toBe(before + 1);
    expect(await readSubject(SANDBOX_USERS.support, second.accessToken)).toBe('After refresh');
    expect((await view(box.id)).state).toBe('active');
  });

  it('a revoked grant (AADSTS50173) puts the mailbox in auth_error with the renew hint; renewing clears it', async () => {
    const box = await connected(SANDBOX_USERS.alice);
    sandbox.identity.revokeRefreshTokens(SANDBOX_USERS.alice);
    await expect(t.deps.services.mailboxTokens.tokenFor(box.id, { forceRefresh: true })).rejects.toMatchObject({ code: 'grant_revoked' });
    const failed = await view(box.id);
    expect(failed.state).toBe('auth_error');
    expect(failed.lastError).toMatchObject({
      code: 'grant_revoked',
      detail: expect.stringMatching(/^AADSTS50173:/),
      hint: expect.stringMatching(/Renew OAuth connection \(POST \/v1\/mailboxes\/\{id\}\/authorize\)/),
      setupStep: 'user_sign_in',
    });
    expect(Date.parse(failed.lastError.at)).toBeGreaterThan(Date.now() - 60_000);

    const { res } = await signIn(await authorize(box.id));
    expectPage(res, 200);
    expect(await view(box.id)).toMatchObject({ state: 'active', lastError: null });
    await expect(t.deps.services.mailboxTokens.tokenFor(box.id, { forceRefresh: true })).resolves.toMatchObject({ claims: { upn: SANDBOX_USERS.alice } });
  });
});

describe('logs', () => {
  it('hold no code, state, token or secret', () => {
    const text = t.logs.text();
    expect(seen.length).toBeGreaterThan(10);
    for (const value of seen.filter((v) => v.length > 8)) expect(text).not.toContain(value);
    expect(text).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}/);
    expect(text).not.toContain(SANDBOX_DELEGATED.secret);
    expect(text).toContain('code=%5BREDACTED%5D');
  });
});
