/**
 * A browser's part in the OAuth flows, for tests that build the service with
 * `buildTestApp` (inject, no listening): GET Microsoft's authorize URL from
 * the identity imitation (which signs in by itself and redirects back), then
 * hand the redirect's path and query to the app, as the browser would.
 */
import { rootCertificates } from 'node:tls';
import type { LightMyRequestResponse } from 'fastify';
import { Agent, request } from 'undici';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

export function browserAgent(caCertPem: string): Agent {
  return new Agent({ connect: { ca: [...rootCertificates, caCertPem] } });
}

export interface AuthorizeAnswer {
  status: number;
  /** Where the imitation sends the browser: our callback with code/state, or error/state. */
  location: URL | undefined;
  html: string;
}

/** One GET of Microsoft's authorize URL, as a browser that is signed in already. */
export async function followAuthorize(agent: Agent, authorizeUrl: string | URL): Promise<AuthorizeAnswer> {
  const res = await request(authorizeUrl.toString(), { dispatcher: agent });
  const html = await res.body.text();
  const location = typeof res.headers.location === 'string' ? new URL(res.headers.location) : undefined;
  return { status: res.statusCode, location, html };
}

/** The browser arriving at a redirect target of the service (path and query only, no API key), with its cookies if any. */
export function arrive(t: TestApp, location: URL, cookie?: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url: `${location.pathname}${location.search}`, ...(cookie ? { headers: { cookie } } : {}) });
}

/** The Cookie header a browser sends back after an answer's Set-Cookie headers (name=value pairs only). */
export function cookieHeaderFrom(res: { headers: Record<string, unknown> }): string {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
  return list.map((line) => line.split(';')[0]!.trim()).join('; ');
}

/** Authorize, then arrive at the callback; fails the test when the imitation shows an error page instead. */
export async function signInThrough(t: TestApp, agent: Agent, authorizeUrl: string | URL): Promise<{ callback: URL; res: LightMyRequestResponse }> {
  const answer = await followAuthorize(agent, authorizeUrl);
  if (!answer.location) throw new Error(`the imitation did not redirect (${answer.status}): ${answer.html.slice(0, 300)}`);
  return { callback: answer.location, res: await arrive(t, answer.location) };
}

export function stateOf(authorizeUrl: string | URL): string {
  const state = new URL(authorizeUrl.toString()).searchParams.get('state');
  if (!state) throw new Error('no state in the authorize URL');
  return state;
}

/** A sign-in result page: HTML, kept out of caches and referrers, a strict CSP, nothing loaded from elsewhere. */
export function expectPage(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
  expect(res.body).not.toMatch(/<script|<img|<link|src=/i);
}
