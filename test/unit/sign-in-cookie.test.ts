/** The cookie binding a sign-in to its browser: its name and attributes per PUBLIC_URL scheme, reading it back, and the binding check. */
import { describe, expect, it } from 'vitest';
import { bindingMatches, bindingTag, newBinding } from '../../src/domain/oauth/browser-binding.js';
import { newSecret } from '../../src/domain/oauth/secrets.js';
import { parseCookieHeader, signInCookie } from '../../src/http/sign-in-cookie.js';

function reply() {
  const headers: string[] = [];
  return { headers, header: (name: string, value: string) => void (name === 'set-cookie' && headers.push(value)) };
}

describe('the sign-in cookie', () => {
  it('is __Host- and Secure on https, plain-named without Secure on http; HttpOnly, SameSite=Lax, Path=/ either way', () => {
    const binding = { tag: 'T'.repeat(16), secret: 'S'.repeat(43) };
    const secure = reply();
    signInCookie(new URL('https://mailsync.example.com/base/')).set(secure as never, binding);
    expect(secure.headers).toEqual([`__Host-mailsync_signin_${binding.tag}=${binding.secret}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax; Secure`]);
    const plain = reply();
    const http = signInCookie(new URL('http://localhost:8080'));
    http.set(plain as never, binding);
    http.clear(plain as never, binding.tag);
    expect(plain.headers).toEqual([
      `mailsync_signin_${binding.tag}=${binding.secret}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax`,
      `mailsync_signin_${binding.tag}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`,
    ]);
  });

  it('reads a sign-in\'s cookie from the Cookie header among others', () => {
    const http = signInCookie(new URL('http://localhost:8080'));
    const request = { headers: { cookie: `a=1; mailsync_signin_abc=first;mailsync_signin_abc=second; mailsync_signin_abd=x` } };
    expect(http.read(request as never, 'abc')).toBe('first');
    expect(http.read({ headers: {} } as never, 'abc')).toBeUndefined();
    expect(parseCookieHeader('=x; ; y; b = 2 ')).toEqual(new Map([['b', '2']]));
  });
});

describe('the browser binding', () => {
  it('keeps a digest, matches only its own secret, and tags a sign-in by a digest of its state', () => {
    const state = newSecret();
    const { binding, digest } = newBinding(state);
    expect(binding.tag).toBe(bindingTag(state));
    expect(binding.tag).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(state).not.toContain(binding.tag);
    expect(digest).not.toBe(binding.secret);
    expect(bindingMatches(digest, binding.secret)).toBe(true);
    expect(bindingMatches(digest, newSecret())).toBe(false);
    expect(bindingMatches(digest, undefined)).toBe(false);
    expect(bindingMatches(digest, `${binding.secret}=`)).toBe(false);
    expect(bindingTag(newSecret())).not.toBe(binding.tag);
  });
});
