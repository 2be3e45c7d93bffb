/** What a webhook URL may be, checked at subscription time (the resolver is injected). */
import { describe, expect, it } from 'vitest';
import { WebhookTargetForbiddenError, WebhookUrlError } from '../../src/domain/webhooks/errors.js';
import { checkTarget, parseWebhookUrl, type Resolver } from '../../src/domain/webhooks/url-policy.js';

const resolver = (table: Record<string, string[]>): Resolver => async (host) => {
  const addresses = table[host];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

describe('parseWebhookUrl', () => {
  it.each([
    ['javascript:alert(1)', /scheme javascript/],
    ['file:///etc/passwd', /scheme file/],
    ['ftp://example.com/x', /scheme ftp/],
    ['gopher://example.com/', /scheme gopher/],
    ['data:text/plain,hi', /scheme data/],
    ['https://user:pass@example.com/hook', /credentials/],
    ['https://user@example.com/hook', /credentials/],
    ['https://example.com/hook#frag', /fragment/],
    [' https://example.com/hook', /whitespace/],
    ['example.com/hook', /not a valid absolute URL/],
    ['https://', /not a valid absolute URL/],
    [`https://example.com/${'a'.repeat(2100)}`, /longer than/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseWebhookUrl(raw)).toThrow(WebhookUrlError);
    expect(() => parseWebhookUrl(raw)).toThrow(message);
  });

  it('accepts http and https URLs with ports, paths and queries', () => {
    expect(parseWebhookUrl('https://example.com:8443/hooks/mailsync?tenant=1').href).toBe('https://example.com:8443/hooks/mailsync?tenant=1');
    expect(parseWebhookUrl('http://example.com').href).toBe('http://example.com/');
  });
});

describe('checkTarget', () => {
  const resolve = resolver({
    'public.example': ['93.184.216.34', '2606:2800:220:1::1'],
    localhost: ['127.0.0.1', '::1'],
    'mixed.example': ['93.184.216.34', '10.0.0.5'],
    'metadata.example': ['169.254.169.254'],
    'v6-loopback.example': ['::ffff:127.0.0.1'],
  });
  const check = (raw: string) => checkTarget(parseWebhookUrl(raw), resolve);

  it.each([
    'http://127.0.0.1/hook',
    'http://127.1/hook',
    'http://2130706433/hook',
    'http://0x7f000001/hook',
    'http://10.1.2.3/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:7f00:1]/hook',
    'http://[fd00:ec2::254]/',
    'http://0.0.0.0:8080/',
    'http://localhost:3000/hook',
    'http://mixed.example/hook',
    'http://metadata.example/',
    'http://v6-loopback.example/',
  ])('refuses %s', async (raw) => {
    await expect(check(raw)).rejects.toBeInstanceOf(WebhookTargetForbiddenError);
  });

  it('names the address and why, with the setting that allows it', async () => {
    const err = (await check('http://localhost:3000/hook').catch((e: unknown) => e)) as WebhookTargetForbiddenError;
    expect(err.detail).toBe("The webhook URL's host localhost resolves to 127.0.0.1, a loopback address.");
    expect(err.hint).toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS=true/);
  });

  it('accepts a public host and a public address', async () => {
    await expect(check('https://public.example/hook')).resolves.toBeUndefined();
    await expect(check('https://93.184.216.34/hook')).resolves.toBeUndefined();
  });

  it('gives up on a resolver that does not answer', async () => {
    const silent: Resolver = () => new Promise(() => undefined);
    await expect(checkTarget(parseWebhookUrl('https://slow.example/'), silent, 50)).rejects.toThrow(/does not resolve \(ETIMEOUT\)/);
  });

  it('refuses a host that does not resolve', async () => {
    await expect(check('https://nowhere.example/hook')).rejects.toThrow(/does not resolve \(ENOTFOUND\)/);
  });
});
