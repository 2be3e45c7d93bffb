/** LOGIN_RETURN_TO_ALLOWLIST: parsing with clear errors, and matching that URL tricks do not get past. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { parseReturnToAllowlist } from '../../src/config/login-config.js';
import { allowedReturnTo, withLoginCode } from '../../src/domain/oauth/return-to.js';
import { ConfigError } from '../../src/errors/errors.js';

const base = { API_KEYS: 'k'.repeat(24), ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };

describe('LOGIN_RETURN_TO_ALLOWLIST', () => {
  it('is empty (sign-in disabled) by default', () => {
    expect(loadConfig(base).login.returnToAllowlist).toEqual([]);
  });

  it('reads origins and prefixes, normalised', () => {
    expect(parseReturnToAllowlist('https://App.Example.com, https://portal.example.com:8443/auth/ ,http://localhost:3000/cb')).toEqual([
      { origin: 'https://app.example.com', pathPrefix: '/' },
      { origin: 'https://portal.example.com:8443', pathPrefix: '/auth/' },
      { origin: 'http://localhost:3000', pathPrefix: '/cb' },
    ]);
  });

  it.each([
    ['not-a-url', 'not an absolute URL'],
    ['ftp://files.example.com', 'only https'],
    ['http://app.example.com', 'plain http is allowed for localhost only'],
    ['https://app.example.com/cb?x=1', 'without credentials, query, fragment or wildcards'],
    ['https://app.example.com/#frag', 'without credentials'],
    ['https://user@app.example.com', 'without credentials'],
    ['https://*.example.com', 'wildcards'],
  ])('refuses %s naming the variable', (raw, message) => {
    let error: unknown;
    try {
      loadConfig({ ...base, LOGIN_RETURN_TO_ALLOWLIST: raw });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^LOGIN_RETURN_TO_ALLOWLIST /);
    expect((error as ConfigError).message).toContain(message);
  });
});

describe('allowedReturnTo', () => {
  const rules = parseReturnToAllowlist('https://app.example.com/auth, https://portal.example.com, http://127.0.0.1:3000/cb/');

  it.each([
    'https://app.example.com/auth',
    'https://app.example.com/auth/done?x=1',
    'https://APP.example.com:443/auth/done',
    'https://portal.example.com/',
    'https://portal.example.com/any/where#frag',
    'http://127.0.0.1:3000/cb/x',
  ])('allows %s', (url) => {
    expect(allowedReturnTo(rules, url)).toBeInstanceOf(URL);
  });

  it.each([
    'https://app.example.com/authority',
    'https://app.example.com/',
    'https://app.example.com/auth/../admin',
    'https://app.example.com/auth/%2e%2e/admin',
    'http://app.example.com/auth',
    'https://app.example.com:8443/auth',
    'https://app.example.com.evil.example/auth',
    'https://evil.example/https://app.example.com/auth',
    'https://app.example.com@evil.example/auth',
    'https://user:pw@app.example.com/auth',
    'javascript:alert(1)//https://portal.example.com',
    'data:text/html,hi',
    '//portal.example.com/',
    '/auth',
    'http://127.0.0.1:3000/cb',
    `https://portal.example.com/${'x'.repeat(2100)}`,
  ])('refuses %s', (url) => {
    expect(allowedReturnTo(rules, url)).toBeUndefined();
  });

  it('adds the login code, replacing one the address carried', () => {
    expect(withLoginCode('https://portal.example.com/cb?code=old&x=1#f', 'new')).toBe('https://portal.example.com/cb?code=new&x=1#f');
  });
});
