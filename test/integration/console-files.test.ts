/**
 * /console: the console's static files, served without an API key, each
 * with the strict CSP, no referrer, no framing and a revalidated cache
 * (ETag, 304); only the files of console/ exist as routes.
 */
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/fixtures.js';
import { CONSOLE_DIR } from '../../src/wiring/console.js';

const t = useTestApp();

describe('GET /console', () => {
  it('redirects /console to /console/, whose relative URLs need the slash', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/console' });
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('/console/');
  });

  it('serves the page without a key, with a CSP that allows only its own files and requires Trusted Types', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/console/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers).toMatchObject({ 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' });
    // No inline script or style for the CSP to refuse.
    expect(res.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
  });

  it('serves every file of console/ with its type, and answers 304 to its ETag', async () => {
    const files = (await readdir(CONSOLE_DIR, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
      .map((e) => `${e.parentPath}/${e.name}`.slice(CONSOLE_DIR.length).replace(/^\/+/, ''));
    expect(files).toContain('js/main.js');
    for (const file of files.filter((f) => f !== 'index.html')) {
      const res = await t.app.inject({ method: 'GET', url: `/console/${file}` });
      expect(res.statusCode, file).toBe(200);
      expect(res.headers['content-type'], file).toMatch(file.endsWith('.js') ? /^text\/javascript/ : file.endsWith('.css') ? /^text\/css/ : /./);
      const again = await t.app.inject({ method: 'GET', url: `/console/${file}`, headers: { 'if-none-match': String(res.headers.etag) } });
      expect(again.statusCode, file).toBe(304);
    }
  });

  it('has no route for anything else below /console', async () => {
    for (const url of ['/console/nope.js', '/console/../package.json', '/console/js/%2e%2e/%2e%2e/package.json', '/console/js']) {
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
  });
});
