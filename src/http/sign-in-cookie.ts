/**
 * The cookie that binds a sign-in to the browser that started it
 * (domain/oauth/browser-binding.ts): set by GET /v1/connections/{id}/login,
 * read and cleared by GET /v1/oauth/callback. One cookie per sign-in, named
 * after the sign-in's tag, so parallel sign-ins in one browser keep theirs.
 *
 * - HttpOnly (no script reads it), SameSite=Lax (a browser sends it on the
 *   top-level navigation back from Microsoft, not on cross-site
 *   subrequests), Path=/, Max-Age the 10 minutes a sign-in lasts.
 * - PUBLIC_URL https: `__Host-mailsync_signin_<tag>`, Secure. The `__Host-`
 *   prefix makes browsers refuse the cookie unless it is Secure, host-only
 *   and Path=/, so a sibling subdomain cannot plant or shadow it.
 * - PUBLIC_URL http (localhost, the sandbox, tests): `mailsync_signin_<tag>`
 *   without Secure, because browsers refuse `__Host-` cookies that are not
 *   Secure and do not keep Secure cookies set over http.
 *
 * Its value is never logged (the request log has no headers).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BrowserBinding } from '../domain/oauth/browser-binding.js';
import { STATE_TTL_SECONDS } from '../domain/oauth/state-record.js';

export interface SignInCookie {
  /** The cookie's name for a sign-in's tag. */
  name(tag: string): string;
  set(reply: FastifyReply, binding: BrowserBinding): void;
  clear(reply: FastifyReply, tag: string): void;
  /** The value of a sign-in's cookie in the request, if the browser sent it. */
  read(request: FastifyRequest, tag: string): string | undefined;
}

/** The values of the Cookie header by name (the first wins, as browsers send the most specific first). */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name !== '' && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export function signInCookie(publicUrl: URL): SignInCookie {
  const secure = publicUrl.protocol === 'https:';
  const prefix = secure ? '__Host-mailsync_signin_' : 'mailsync_signin_';
  const attributes = (maxAge: number): string => `Max-Age=${maxAge}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  const name = (tag: string): string => `${prefix}${tag}`;
  // Fastify appends to set-cookie instead of replacing it.
  const append = (reply: FastifyReply, cookie: string): void => void reply.header('set-cookie', cookie);
  return {
    name,
    set: (reply, binding) => append(reply, `${name(binding.tag)}=${binding.secret}; ${attributes(STATE_TTL_SECONDS)}`),
    clear: (reply, tag) => append(reply, `${name(tag)}=; ${attributes(0)}`),
    read: (request, tag) => parseCookieHeader(request.headers.cookie).get(name(tag)),
  };
}
