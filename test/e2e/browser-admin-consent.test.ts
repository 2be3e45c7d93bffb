/**
 * Admin consent for a customer's tenant in a real browser (headless Chromium through
 * playwright-core): the link from POST /v1/connections/{id}/admin-consent sets the browser's
 * binding cookie and goes on to the identity imitation's /adminconsent, which sends the
 * administrator back to the service's callback with admin_consent=True; the page says so, the
 * connection lists the tenant and connection.consented is delivered. And what refuses: a declined
 * consent, a user who is no administrator, the callback opened in another browser, a state or a
 * link the service never issued.
 */
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, ensureChromium, trustSpkiFlag } from '../support/chromium.js';
import { browserAgent, followAuthorize } from '../support/oauth-browser.js';

const check = await ensureChromium();
const CUSTOMER = { id: '0c0ffee0-0000-4000-8000-00000000fab1', domain: 'fabrikam.example' };
const ADMIN = 'admin@fabrikam.example';
const CLERK = 'clerk@fabrikam.example';

let sandbox: Sandbox;
let t: TestApp;
let browser: Browser;
let port: number;
let connectionId: string;
const title = (name: string): string => (check.ok ? name : `skipped: ${check.ok ? '' : check.reason}`);

async function consentLink(): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/admin-consent`, headers: t.auth, payload: { tenant: CUSTOMER.domain } });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.json().consentUrl as string;
}

async function consentedTenants(): Promise<{ tenantId: string; at: string }[]> {
  return (await t.app.inject({ method: 'GET', url: `/v1/connections/${connectionId}`, headers: t.auth })).json().consentedTenants;
}

async function inNewBrowser<T>(use: (page: Page) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  try {
    return await use(await context.newPage());
  } finally {
    await context.close();
  }
}

describe('admin consent in a browser', () => {
  beforeAll(async () => {
    if (!check.ok) return;
    port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    sandbox = await startSandbox({ publicUrl });
    sandbox.identity.addTenant({ id: CUSTOMER.id, domains: [CUSTOMER.domain] });
    sandbox.identity.addUser({ upn: ADMIN, tenantId: CUSTOMER.id, admin: true });
    sandbox.identity.addUser({ upn: CLERK, tenantId: CUSTOMER.id });
    // The ISV's app: multi-tenant, with the service's callback as its Web redirect URI.
    sandbox.identity.updateApp(SANDBOX_APP_ONLY.clientId, { multiTenant: true, redirectUris: [`${publicUrl}/v1/oauth/callback`] });
    t = await buildTestApp(sandbox.redis.url, { ...sandbox.serviceEnv(), PUBLIC_URL: publicUrl, WEBHOOK_RETRY_BASE_MS: '50' });
    await t.app.listen({ host: '127.0.0.1', port });
    await t.deps.jobs.startAll();
    const hook = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: t.auth, payload: { url: sandbox.receiver.url, events: ['connection.consented'] } });
    sandbox.receiver.setSecrets([hook.json().secret]);
    const connection = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'Contoso mail for customers', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    connectionId = connection.json().id;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, trustSpkiFlag(sandbox.pki.serverCertPem)] });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sandbox?.stop();
  });

  it.skipIf(!check.ok)(title('goes from the link to Microsoft and back: the page says so, the connection lists the tenant, the event is delivered'), async () => {
    sandbox.identity.signInAs(ADMIN);
    const link = await consentLink();
    expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/v1/oauth/admin-consent\\?ticket=[A-Za-z0-9_-]{43}$`));
    await inNewBrowser(async (page) => {
      const problems: string[] = [];
      page.on('console', (message) => problems.push(message.text()));
      const response = await page.goto(link, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/v1/oauth/callback');
      expect(new URL(page.url()).searchParams.get('admin_consent')).toBe('True');
      await expect(page.title()).resolves.toBe('Admin consent granted · mailsync');
      expect(await page.locator('#message').innerText()).toContain(`tenant ${CUSTOMER.id}) has granted Contoso mail for customers`);
      expect(await page.evaluate("getComputedStyle(document.querySelector('h1')).color")).toBe('rgb(16, 124, 16)');
      expect(response?.headers()['content-security-policy']).toMatch(/default-src 'none'/);
      expect(problems).toEqual([]);
      // The binding cookie is cleared with the state it belonged to.
      expect((await page.context().cookies(`http://127.0.0.1:${port}`)).filter((c) => c.name.startsWith('mailsync_signin_'))).toEqual([]);
    });
    expect(sandbox.identity.requests.some((r) => r.path === `/${CUSTOMER.domain}/v2.0/adminconsent`)).toBe(true);
    expect(await consentedTenants()).toEqual([{ tenantId: CUSTOMER.id, at: expect.any(String) }]);
    const event = await sandbox.receiver.waitFor((d) => d.type === 'connection.consented');
    expect(event.verified).toBe(true);
    expect((event.body as { data: unknown }).data).toEqual({ connectionId, name: 'Contoso mail for customers', tenantId: CUSTOMER.id });

    // A link that gave consent is used up.
    await inNewBrowser(async (page) => {
      expect((await page.goto(link, { waitUntil: 'load' }))?.status()).toBe(400);
      expect(await page.locator('#message').innerText()).toContain('has expired');
    });
  });

  it.skipIf(!check.ok)(title('says what went wrong when the administrator declines, or the user is no administrator'), async () => {
    sandbox.identity.signInAs(ADMIN);
    sandbox.identity.denyConsent(true);
    try {
      await inNewBrowser(async (page) => {
        const response = await page.goto(await consentLink(), { waitUntil: 'load' });
        expect(response?.status()).toBe(400);
        expect(await page.locator('#message').innerText()).toBe('The administrator declined to grant the app its permissions, so nothing was consented (AADSTS65004).');
        expect(await page.locator('#hint').innerText()).toContain('choose Accept');
      });
    } finally {
      sandbox.identity.denyConsent(false);
    }
    sandbox.identity.signInAs(CLERK);
    await inNewBrowser(async (page) => {
      const response = await page.goto(await consentLink(), { waitUntil: 'load' });
      expect(response?.status()).toBe(403);
      expect(await page.locator('#message').innerText()).toContain('an administrator must open the link (AADSTS90094)');
      expect(await page.locator('#hint').innerText()).toContain('Global Administrator');
    });
    expect(await consentedTenants()).toHaveLength(1);
  });

  it.skipIf(!check.ok)(title('refuses the callback in a browser that did not open the link, and a state or link never issued'), async () => {
    sandbox.identity.signInAs(ADMIN);
    const starter = await browser.newContext();
    const agent = browserAgent(sandbox.pki.caCertPem);
    try {
      const opened = await starter.request.get(await consentLink(), { maxRedirects: 0 });
      expect(opened.status()).toBe(302);
      const [cookie] = (await starter.cookies(`http://127.0.0.1:${port}`)).filter((c) => c.name.startsWith('mailsync_signin_'));
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
      const callback = (await followAuthorize(agent, opened.headers().location!)).location!.toString();
      expect(new URL(callback).searchParams.get('tenant')).toBe(CUSTOMER.id);

      await inNewBrowser(async (page) => {
        expect((await page.goto(callback, { waitUntil: 'load' }))?.status()).toBe(400);
        expect(await page.locator('#message').innerText()).toContain('started in another browser');
      });
      // The state was not used up by the stranger: the browser that opened the link finishes.
      const page = await starter.newPage();
      expect((await page.goto(callback, { waitUntil: 'load' }))?.status()).toBe(200);
      await expect(page.title()).resolves.toBe('Admin consent granted · mailsync');
    } finally {
      await agent.close();
      await starter.close();
    }

    await inNewBrowser(async (page) => {
      const forged = `http://127.0.0.1:${port}/v1/oauth/callback?admin_consent=True&tenant=${CUSTOMER.id}&state=${randomBytes(32).toString('base64url')}`;
      expect((await page.goto(forged, { waitUntil: 'load' }))?.status()).toBe(400);
      expect(await page.locator('#message').innerText()).toContain('has expired');
      for (const ticket of [randomBytes(32).toString('base64url'), 'not-a-ticket', '<script>']) {
        const res = await page.goto(`http://127.0.0.1:${port}/v1/oauth/admin-consent?ticket=${encodeURIComponent(ticket)}`, { waitUntil: 'load' });
        expect(res?.status(), ticket).toBe(400);
        expect(await page.content()).not.toContain('<script>');
      }
    });
    expect(await consentedTenants()).toHaveLength(1);
  });
});
