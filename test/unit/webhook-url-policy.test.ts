/** What a webhook URL may be, checked at subscription time (the resolver is injected). */
import { describe, expect, it } from 'vitest';
import { addressPolicy } from '../../src/domain/webhooks/address-policy.js';
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
    await expect(checkTarget(parseWebhookUrl('https://slow.example/'), silent, { timeoutMs: 50 })).rejects.toThrow(/does not resolve \(ETIMEOUT\)/);
  });

  it('refuses a host that does not resolve', async () => {
    await expect(check('https://nowhere.example/hook')).rejects.toThrow(/does not resolve \(ENOTFOUND\)/);
  });
});

describe('checkTarget with private networks allowed', () => {
  const resolve = resolver({
    'wireserver.example': ['168.63.129.16'],
    'mapped-wireserver.example': ['::ffff:168.63.129.16'],
    'imds.example': ['93.184.216.34', '169.254.169.254'],
    'internal.example': ['10.0.0.5', 'fd12::5'],
  });
  const permissive = addressPolicy({ allowPrivateNetworks: true });
  const check = (raw: string, policy = permissive) => checkTarget(parseWebhookUrl(raw), resolve, { policy });

  it.each([
    ['http://168.63.129.16/', /168\.63\.129\.16, a cloud platform endpoint \(Azure WireServer\)/],
    ['http://[::ffff:168.63.129.16]/', /IPv4-mapped cloud platform endpoint/],
    ['http://[::ffff:a83f:8110]/', /IPv4-mapped cloud platform endpoint/],
    ['http://169.254.169.254/latest/meta-data/', /cloud metadata endpoint/],
    ['http://[fd00:ec2::254]/', /cloud metadata endpoint/],
    ['http://wireserver.example/', /wireserver\.example resolves to 168\.63\.129\.16/],
    ['http://mapped-wireserver.example/', /resolves to ::ffff:168\.63\.129\.16/],
    ['http://imds.example/', /resolves to 169\.254\.169\.254/],
  ])('still refuses the cloud platform endpoint %s, with the setting that allows it', async (raw, detail) => {
    const err = (await check(raw).catch((e: unknown) => e)) as WebhookTargetForbiddenError;
    expect(err).toBeInstanceOf(WebhookTargetForbiddenError);
    expect(err.detail).toMatch(detail);
    expect(err.hint).toMatch(/refused even with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true.*WEBHOOK_ALLOWED_ADDRESSES/);
  });

  it('accepts private addresses and names, and a name that does not resolve yet (checked at delivery)', async () => {
    await expect(check('http://10.0.0.5:8080/hook')).resolves.toBeUndefined();
    await expect(check('http://internal.example/hook')).resolves.toBeUndefined();
    await expect(check('http://not-in-dns-yet.example/hook')).resolves.toBeUndefined();
  });

  it('accepts a platform address named in WEBHOOK_ALLOWED_ADDRESSES', async () => {
    const named = addressPolicy({ allowPrivateNetworks: true, allowedAddresses: ['168.63.129.16'] });
    await expect(check('http://168.63.129.16/', named)).resolves.toBeUndefined();
    await expect(check('http://wireserver.example/', named)).resolves.toBeUndefined();
    await expect(check('http://169.254.169.254/', named)).rejects.toBeInstanceOf(WebhookTargetForbiddenError);
  });
});
