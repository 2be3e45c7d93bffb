/**
 * The console in a real browser (headless Chromium through playwright-core)
 * against the real service (ROLE=all, listening) and the sandbox: the setup
 * wizard from an empty service to a mailbox receiving mail (then its
 * webhook's delivery log and a test send), a wrong and a revoked API key, a
 * key with the send scope only, and a failing setup step showing its hint.
 * Every wait is on an element or a text; screenshots of each page are saved
 * (see test/support/console-browser.ts).
 */
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, SANDBOX_USERS, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startService, type RunningService } from '../../src/server.js';
import { testEnv } from '../support/app.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, ensureChromium } from '../support/chromium.js';
import { openConsole, screenshot, signInWith, UI_TIMEOUT_MS } from '../support/console-browser.js';
import { captureLogs } from '../support/logs.js';

const check = await ensureChromium();
const KEY = `console-key-${randomBytes(12).toString('hex')}`;
const SEND_KEY = `console-send-${randomBytes(12).toString('hex')}`;
const SLOW = 180_000;

let sandbox: Sandbox;
let service: RunningService;
let browser: Browser;
let base: string;

const name = (title: string) => (check.ok ? title : `skipped: ${check.ok ? '' : check.reason}`);

async function fillIds(page: Page): Promise<void> {
  await page.locator('#next-step').click();
  await page.getByRole('heading', { name: 'Copy the client and tenant ids' }).waitFor();
  await page.getByLabel('Connection name').fill('Contoso (sandbox)');
  await page.getByLabel('Directory (tenant) ID').fill(SANDBOX_TENANT.id);
  await page.getByLabel('Application (client) ID').fill(SANDBOX_APP_ONLY.clientId);
  await page.getByText('Advanced: national cloud').click();
  await page.getByLabel('Authority host').fill(sandbox.identity.url);
  await page.locator('#next-step').click();
  await page.getByRole('heading', { name: 'Create a client secret or upload a certificate' }).waitFor();
}

describe('the console in a browser', () => {
  beforeAll(async () => {
    if (!check.ok) return;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    sandbox = await startSandbox({ publicUrl: base });
    const config = loadConfig(testEnv(sandbox.redis.url, {
      ...sandbox.serviceEnv(), API_KEYS: `${KEY},send:${SEND_KEY}`, ROLE: 'all', HOST: '127.0.0.1', PORT: String(port), PUBLIC_URL: base,
    }));
    service = await startService(config, createLogger({ level: 'warn' }, captureLogs().stream));
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  }, SLOW);

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await sandbox?.stop();
  }, SLOW);

  it.skipIf(!check.ok)(name('connects Office 365 step by step, from an empty service to a mailbox receiving mail'), async () => {
    const { context, page, problems } = await openConsole(browser, base);
    try {
      expect(new URL(page.url()).pathname).toBe('/console/');
      await screenshot(page, 'sign-in');
      await signInWith(page, KEY);
      await page.getByRole('heading', { name: 'Connect Office 365, step by step' }).waitFor();
      await expect(page.locator('pre[aria-label="redirect URI"]').innerText()).resolves.toBe(`${base}/v1/oauth/callback`);
      await screenshot(page, 'setup-1-register');

      await fillIds(page);
      await page.getByLabel('Client secret (the Value column)').fill(SANDBOX_APP_ONLY.secret);
      await page.locator('#save-credential').click();
      await page.locator('#step-result').getByText('Verified:').waitFor();
      // The secret is gone from the page once sent.
      await expect(page.getByLabel('Client secret (the Value column)').inputValue()).resolves.toBe('');
      expect(await page.content()).not.toContain(SANDBOX_APP_ONLY.secret);
      await screenshot(page, 'setup-3-credential-verified');

      for (const heading of ['Add the API permissions', 'Grant admin consent', 'Register the service principal in Exchange']) {
        await page.locator('#next-step').click();
        await page.getByRole('heading', { name: heading }).waitFor();
      }
      const objectId = '6f0e3c3a-0000-4000-8000-00000000beef';
      await page.getByLabel('Object ID of the Enterprise application').fill(objectId);
      await page.getByText(`New-ServicePrincipal -AppId "${SANDBOX_APP_ONLY.clientId}" -ObjectId "${objectId}"`).waitFor();
      await screenshot(page, 'setup-6-service-principal');

      await page.locator('#next-step').click();
      await page.getByRole('heading', { name: 'Give it the mailbox' }).waitFor();
      await page.getByLabel('Mailbox address').fill(SANDBOX_USERS.support);
      await page.getByText(`Add-MailboxPermission -Identity "${SANDBOX_USERS.support}" -User "${objectId}" -AccessRights FullAccess`).waitFor();
      const { imap, smtp } = sandbox.mailServers();
      await page.getByText('Advanced: mail servers').click();
      await page.getByLabel('IMAP host').fill(imap.host);
      await page.getByLabel('IMAP port').fill(String(imap.port));
      await page.getByLabel('SMTP host').fill(smtp.host);
      await page.getByLabel('SMTP port').fill(String(smtp.port));
      await page.getByLabel('Poll interval (seconds)').fill('1');
      await page.locator('#add-mailbox').click();
      await page.locator('#step-result').getByText('The doctor found no problem.').waitFor();
      await screenshot(page, 'setup-7-mailbox-doctor');

      await page.locator('#next-step').click();
      await page.getByRole('heading', { name: 'Enable SMTP AUTH' }).waitFor();
      await page.locator('#next-step').click();
      await page.getByRole('heading', { name: 'Done: the mailbox receives mail' }).waitFor();
      // Every step of the flow was checked live, none fails.
      await expect(page.locator('.steps .step-fails').count()).resolves.toBe(0);
      await expect(page.locator('.steps .step-checked').count()).resolves.toBe(8);
      await screenshot(page, 'setup-done');

      // A webhook to the sandbox receiver; its secret is shown this once.
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByLabel('Endpoint URL').fill(`${sandbox.receiver.url}/mailsync`);
      await page.getByRole('button', { name: 'Add the webhook' }).click();
      const secret = await page.locator('#webhook-created pre').innerText();
      expect(secret).toMatch(/^whsec_/);
      sandbox.receiver.setSecrets([secret]);

      // The mailbox: wait for its first poll (the baseline), then a customer writes.
      await page.getByRole('link', { name: 'Mailboxes' }).click();
      await page.getByRole('link', { name: SANDBOX_USERS.support }).click();
      // A locator, not waitForFunction with a string: the console's CSP forbids eval, which Playwright
      // uses to poll a string predicate once the first look found nothing (the poll not yet done).
      await page.locator('td:nth-child(4)').filter({ hasText: /^\d+$/ }).first().waitFor({ timeout: UI_TIMEOUT_MS });
      await sandbox.dovecot.deliver(SANDBOX_USERS.support,
        `From: Customer <customer@example.org>\r\nTo: ${SANDBOX_USERS.support}\r\nSubject: My order has not arrived\r\nMessage-ID: <console-1@example.org>\r\n\r\nHello?\r\n`);
      await page.getByRole('cell', { name: 'My order has not arrived' }).waitFor({ timeout: 60_000 });
      await page.locator('#run-doctor').click();
      await page.locator('#doctor-report').getByText('No problem found.').waitFor();
      await screenshot(page, 'mailbox');

      // Its announcement in the webhook's delivery log, with the receiver's answer.
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByRole('link', { name: `${sandbox.receiver.url}/mailsync` }).click();
      await page.locator('#delivery-log').getByRole('cell', { name: 'delivered' }).waitFor({ timeout: 60_000 });
      await expect(page.locator('#delivery-log').getByRole('cell', { name: '200', exact: true }).count()).resolves.toBeGreaterThan(0);
      await screenshot(page, 'webhook-deliveries');

      // A test send: status and the SMTP server's answer.
      await page.getByRole('link', { name: 'Sending' }).click();
      await page.getByLabel('From mailbox').selectOption({ label: SANDBOX_USERS.support });
      await page.getByLabel('To', { exact: true }).fill('customer@example.org');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.locator('#send-list').getByText('sent', { exact: true }).waitFor({ timeout: 60_000 });
      await expect(page.locator('#send-list').innerText()).resolves.toMatch(/250 /);
      await screenshot(page, 'sending');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, SLOW);

  it.skipIf(!check.ok)(name('refuses a wrong key, signs out when the kept key is no longer accepted, and shows a scoped key only its pages'), async () => {
    const { context, page, problems } = await openConsole(browser, base);
    try {
      await signInWith(page, 'wrong-key-0123456789abcdef');
      await page.getByRole('alert').getByText('The service does not accept this API key').waitFor();
      await screenshot(page, 'sign-in-wrong-key');

      await signInWith(page, KEY);
      await page.getByRole('link', { name: 'Mailboxes' }).waitFor();
      // The key is revoked (or expired) while the tab keeps it: the next call ends the session.
      await page.evaluate("sessionStorage.setItem('mailsync.apiKey', 'revoked-key-0123456789abcdef')");
      await page.reload({ waitUntil: 'load' });
      await page.getByRole('alert').getByText('no longer accepts this API key').waitFor();
      await expect(page.evaluate('sessionStorage.length')).resolves.toBe(0);

      await signInWith(page, SEND_KEY);
      await page.getByRole('heading', { name: 'Sending' }).waitFor();
      await expect(page.locator('#nav a').allInnerTexts()).resolves.toEqual(['Sending']);
      // Without the admin scope the mailbox is named by its id (the key may not list mailboxes).
      await expect(page.getByLabel('From mailbox').getAttribute('placeholder')).resolves.toBe('mbx_…');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, SLOW);

  it.skipIf(!check.ok)(name('shows a failing setup step with its hint, and clears it once fixed'), async () => {
    const { context, page, problems } = await openConsole(browser, base);
    try {
      await signInWith(page, KEY);
      await page.getByRole('heading', { name: 'Connect Office 365, step by step' }).waitFor();
      await fillIds(page);
      await page.getByLabel('Client secret (the Value column)').fill('Sbx8Q~not-the-right-secret-value-000');
      await page.locator('#save-credential').click();
      const banner = page.locator('#failing-step');
      await banner.getByText('Create a client secret or upload a certificate, fails').waitFor();
      await expect(banner.innerText()).resolves.toMatch(/invalid_client_secret[\s\S]*What to do: .*Value/);
      await expect(page.locator('.steps .step-fails').innerText()).resolves.toContain('(fails)');
      await screenshot(page, 'setup-failing-step');

      await page.getByLabel('Client secret (the Value column)').fill(SANDBOX_APP_ONLY.secret);
      await page.getByRole('button', { name: 'Replace the credential and verify' }).click();
      await page.locator('#step-result').getByText('Verified:').waitFor();
      await expect(page.locator('#failing-step').count()).resolves.toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, SLOW);
});
