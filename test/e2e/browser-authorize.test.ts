/**
 * "Set up OAuth connection" in a real browser: headless Chromium (driven by
 * playwright-core) opens the mailbox's authorizeUrl; the identity imitation
 * signs the user in and redirects to the service, which listens on
 * PUBLIC_URL's port for real; the callback page names the account. And
 * "Sign in with Microsoft": the browser keeps the start's cookie across the
 * cross-site redirects and finishes, another browser cannot.
 *
 * TLS: the imitation serves HTTPS with the sandbox test CA. Chromium is told
 * to accept exactly the sandbox server's key (--ignore-certificate-errors-spki-list),
 * not to ignore certificate errors in general.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DELEGATED, SANDBOX_TENANT, SANDBOX_USERS, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, ensureChromium, trustSpkiFlag } from '../support/chromium.js';
import { browserAgent, followAuthorize } from '../support/oauth-browser.js';

const check = await ensureChromium();

let sandbox: Sandbox;
let t: TestApp;
let browser: Browser;
let shots: string;
let port: number;
/** The application using the sign-in provider: it only answers the browser coming back with its login code. */
let appOrigin: string;
let application: Server;

describe('the sign-ins in a browser', () => {
  beforeAll(async () => {
    if (!check.ok) return;
    port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const appPort = await freePort();
    appOrigin = `http://localhost:${appPort}`;
    application = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('the application'));
    await new Promise<void>((resolve) => application.listen(appPort, '127.0.0.1', resolve));
    sandbox = await startSandbox({ publicUrl });
    t = await buildTestApp(sandbox.redis.url, { ...sandbox.serviceEnv(), PUBLIC_URL: publicUrl, LOGIN_RETURN_TO_ALLOWLIST: `${appOrigin}/done` });
    await t.app.listen({ host: '127.0.0.1', port });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, trustSpkiFlag(sandbox.pki.serverCertPem)] });
    shots = await mkdtemp(join(tmpdir(), 'mailsync-e2e-'));
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (application ? application.close(resolve) : resolve(undefined)));
    await t?.close();
    await sandbox?.stop();
    if (shots) await rm(shots, { recursive: true, force: true });
  });

  it.skipIf(!check.ok)(check.ok ? 'opens the authorizeUrl, signs in, and lands on a page naming the connected account' : `skipped: ${check.ok ? '' : check.reason}`, async () => {
    const connection = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'browser', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url },
    });
    const mailbox = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: { connectionId: connection.json().id, email: SANDBOX_USERS.support, ...sandbox.mailServers() },
    });
    const { id, authorizeUrl } = mailbox.json() as { id: string; authorizeUrl: string };
    expect(authorizeUrl).toMatch(/^https:\/\/localhost:\d+\//);

    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => problems.push(message.text()));
    page.on('pageerror', (err) => problems.push(err.message));
    try {
      const response = await page.goto(authorizeUrl, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      expect(new URL(page.url()).origin).toBe(`http://127.0.0.1:${port}`);
      expect(new URL(page.url()).pathname).toBe('/v1/oauth/callback');
      await expect(page.title()).resolves.toBe('Mailbox connected · mailsync');
      const text = await page.locator('#message').innerText();
      expect(text).toContain(`${SANDBOX_USERS.support} is now connected`);
      // The inline style applied: the CSP admits it by its hash (a blocked style would leave the default colour).
      // (A string expression: this project compiles without the DOM library.)
      expect(await page.evaluate("getComputedStyle(document.querySelector('h1')).color")).toBe('rgb(16, 124, 16)');
      expect(response?.headers()['cache-control']).toBe('no-store');
      const file = join(shots, 'connected.png');
      await page.screenshot({ path: file, fullPage: true });
      expect((await stat(file)).size).toBeGreaterThan(1_000);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
    const view = await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth });
    expect(view.json()).toMatchObject({ state: 'active', account: { username: SANDBOX_USERS.support } });
  });

  it.skipIf(!check.ok)(check.ok ? 'signs in with Microsoft: the starting browser finishes, another browser opening the same callback is refused' : `skipped: ${check.ok ? '' : check.reason}`, async () => {
    const connection = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'login', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url },
    });
    const start = `http://127.0.0.1:${port}/v1/connections/${connection.json().id}/login?returnTo=${encodeURIComponent(`${appOrigin}/done`)}`;
    const exchange = async (url: string) => {
      const code = new URL(url).searchParams.get('code')!;
      return (await t.app.inject({ method: 'POST', url: '/v1/login/exchange', headers: t.auth, payload: { code } })).json();
    };
    const starter = await browser.newContext();
    const stranger = await browser.newContext();
    const agent = browserAgent(sandbox.pki.caCertPem);
    try {
      const page = await starter.newPage();
      // Straight through: the cookie set on 127.0.0.1 comes back on the redirect from the identity platform (another site).
      await page.goto(start, { waitUntil: 'load' });
      expect(page.url()).toMatch(new RegExp(`^${appOrigin}/done\\?code=[A-Za-z0-9_-]{43}$`));
      await expect(exchange(page.url())).resolves.toMatchObject({ email: SANDBOX_USERS.support, connectionId: connection.json().id });
      expect((await starter.cookies(`http://127.0.0.1:${port}`)).filter((c) => c.name.startsWith('mailsync_signin_'))).toEqual([]);

      // Again, started in this browser's cookie jar (its API side shares it), with Microsoft's answer held back
      // to hand the callback URL to another browser first.
      const login = await starter.request.get(start, { maxRedirects: 0 });
      expect(login.status()).toBe(302);
      const [cookie] = (await starter.cookies(`http://127.0.0.1:${port}`)).filter((c) => c.name.startsWith('mailsync_signin_'));
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
      const callback = (await followAuthorize(agent, login.headers().location!)).location!.toString();

      const elsewhere = await stranger.newPage();
      const refused = await elsewhere.goto(callback, { waitUntil: 'load' });
      expect(refused?.status()).toBe(400);
      expect(await elsewhere.locator('#message').innerText()).toContain('started in another browser');
      expect(elsewhere.url()).toBe(callback);

      await page.goto(callback, { waitUntil: 'load' });
      expect(page.url()).toMatch(new RegExp(`^${appOrigin}/done\\?code=`));
      await expect(exchange(page.url())).resolves.toMatchObject({ email: SANDBOX_USERS.support });
    } finally {
      await agent.close();
      await starter.close();
      await stranger.close();
    }
  });
});
