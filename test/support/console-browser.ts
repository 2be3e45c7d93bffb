/**
 * Driving the console (/console) in headless Chromium: a page that records
 * script errors and CSP violations, signing in, and screenshots written to
 * CONSOLE_SCREENSHOTS (e.g. docs/console, committed and linked from the
 * README) or else to .tmp/artifacts/console as test artifacts.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

/** Generous: two shared cores run the service, the sandbox and the browser at once. */
export const UI_TIMEOUT_MS = 30_000;

export const SCREENSHOT_DIR = resolve(process.env.CONSOLE_SCREENSHOTS ?? '.tmp/artifacts/console');

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Script errors and console errors (CSP and Trusted Types violations among them), not failed loads. */
  problems: string[];
}

export async function openConsole(browser: Browser, baseUrl: string): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  const page = await context.newPage();
  const problems: string[] = [];
  // An API answer of 403/404 is logged by Chromium as a failed load: expected (the scope probes), not a problem.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${baseUrl}/console`, { waitUntil: 'load' });
  return { context, page, problems };
}

export async function signInWith(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect((await stat(file)).size).toBeGreaterThan(1_000);
}
