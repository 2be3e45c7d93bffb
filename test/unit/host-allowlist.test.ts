import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { DEFAULT_AUTHORITY_HOSTS, DEFAULT_MAIL_HOSTS, hostAllowlist, parseHostAllowlist } from '../../src/config/host-allowlist.js';
import { ConfigError } from '../../src/errors/errors.js';

const BASE_ENV = { API_KEYS: 'k'.repeat(24), ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'), REDIS_URL: 'redis://127.0.0.1:6379' };

describe('host allow-lists', () => {
  it('matches names exactly, whatever their case or trailing dot', () => {
    const list = parseHostAllowlist('Outlook.Office365.com, smtp.office365.com');
    for (const host of ['outlook.office365.com', 'OUTLOOK.office365.COM', 'outlook.office365.com.']) expect(list.allows(host), host).toBe(true);
    for (const host of ['office365.com', 'evil-outlook.office365.com', 'outlook.office365.com.evil.example', 'outlook.office365.co']) expect(list.allows(host), host).toBe(false);
  });

  it('matches a suffix entry below its domain only', () => {
    const list = parseHostAllowlist('*.contoso.com');
    expect(list.allows('mail.contoso.com')).toBe(true);
    expect(list.allows('a.b.contoso.com')).toBe(true);
    expect(list.allows('contoso.com')).toBe(false);
    expect(list.allows('evilcontoso.com')).toBe(false);
  });

  it('matches IP addresses exactly, IPv6 with or without brackets, and never by suffix', () => {
    const list = parseHostAllowlist('127.0.0.1,[::1],*.0.0.1');
    expect(list.allows('127.0.0.1')).toBe(true);
    expect(list.allows('::1')).toBe(true);
    expect(list.allows('[::1]')).toBe(true);
    expect(list.allows('10.0.0.1')).toBe(false);
  });

  it('allows anything with *', () => {
    expect(parseHostAllowlist('*').allows('anything.example')).toBe(true);
  });

  it('refuses entries that are not hosts, and an empty list', () => {
    for (const raw of ['https://login.microsoftonline.com', 'bad host', 'a..b', '*.', '-x.example', 'x'.repeat(64) + '.example', ' , ']) {
      expect(() => parseHostAllowlist(raw), raw).toThrow();
    }
  });

  it('defaults to Microsoft\'s hosts, and a bad value stops the service with the variable named', () => {
    const config = loadConfig(BASE_ENV);
    expect(config.outbound.authorityHosts.entries).toEqual(DEFAULT_AUTHORITY_HOSTS);
    expect(config.outbound.mailHosts.entries).toEqual(DEFAULT_MAIL_HOSTS);
    expect(config.outbound.mailHosts.allows('smtp.office365.com')).toBe(true);
    expect(config.outbound.mailHosts.allows('127.0.0.1')).toBe(false);
    expect(config.outbound.authorityHosts.allows('login.microsoftonline.com')).toBe(true);
    expect(() => loadConfig({ ...BASE_ENV, MAIL_HOST_ALLOWLIST: 'smtp.office365.com, not a host' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...BASE_ENV, AUTHORITY_HOST_ALLOWLIST: 'https://x' })).toThrow(/AUTHORITY_HOST_ALLOWLIST/);
    expect(hostAllowlist(DEFAULT_MAIL_HOSTS).allows('outlook.office365.com')).toBe(true);
  });
});
