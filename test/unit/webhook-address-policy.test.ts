/** The SSRF guard's address verdicts: every refused range, and its IPv6 disguises; the deployment's settings on top. */
import { describe, expect, it } from 'vitest';
import { addressPolicy, canonicalAddress, classifyAddress, parseIPv6, STRICT_ADDRESS_POLICY } from '../../src/domain/webhooks/address-policy.js';

const refused: [string, RegExp][] = [
  ['127.0.0.1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['10.1.2.3', /private/],
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.168.1.1', /private/],
  ['100.64.0.1', /shared/],
  ['100.100.100.200', /metadata endpoint \(Alibaba/],
  ['169.254.169.254', /metadata/],
  ['168.63.129.16', /Azure WireServer/],
  ['169.254.170.2', /credentials endpoint \(AWS ECS/],
  ['169.254.170.23', /EKS Pod Identity/],
  ['169.254.1.1', /link-local/],
  ['0.0.0.0', /unspecified/],
  ['0.1.2.3', /unspecified/],
  ['224.0.0.1', /multicast/],
  ['239.255.255.250', /multicast/],
  ['255.255.255.255', /broadcast/],
  ['240.0.0.1', /reserved/],
  ['192.0.2.10', /documentation/],
  ['198.51.100.7', /documentation/],
  ['203.0.113.9', /documentation/],
  ['198.18.0.1', /benchmark/],
  ['::', /unspecified/],
  ['::1', /loopback/],
  ['[::1]', /loopback/],
  ['::ffff:127.0.0.1', /IPv4-mapped loopback/],
  ['::ffff:7f00:1', /IPv4-mapped loopback/],
  ['[::ffff:7f00:1]', /IPv4-mapped loopback/],
  ['::ffff:10.0.0.1', /IPv4-mapped private/],
  ['::ffff:169.254.169.254', /IPv4-mapped cloud metadata/],
  ['::127.0.0.1', /IPv4-compatible loopback/],
  ['::ffff:0:127.0.0.1', /IPv4-translated loopback/],
  ['64:ff9b::7f00:1', /NAT64 loopback/],
  ['64:ff9b::a00:1', /NAT64 private/],
  ['64:ff9b:1::1', /NAT64/],
  ['2002:7f00:1::1', /6to4 loopback/],
  ['2002:c0a8:101::1', /6to4 private/],
  ['fd00:ec2::254', /metadata/],
  ['FD00:EC2:0:0:0:0:0:254', /metadata/],
  ['fd00:ec2::23', /EKS Pod Identity/],
  ['fd20:ce::254', /metadata endpoint \(Google/],
  ['::ffff:168.63.129.16', /IPv4-mapped .*Azure WireServer/],
  ['[::ffff:a83f:8110]', /IPv4-mapped .*Azure WireServer/],
  ['64:ff9b::a83f:8110', /NAT64 .*Azure WireServer/],
  ['fc00::1', /unique local/],
  ['fdff:ffff::1', /unique local/],
  ['fe80::1', /link-local/],
  ['fe80::1%eth0', /link-local/],
  ['febf::1', /link-local/],
  ['fec0::1', /site-local/],
  ['ff02::1', /multicast/],
  ['2001:db8::1', /documentation/],
  ['2001:0:4136:e378::1', /Teredo/],
  ['100::1', /reserved/],
  ['4000::1', /reserved/],
  ['not-an-ip', /not an IP/],
];

const allowed = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];

describe('classifyAddress', () => {
  it.each(refused)('refuses %s', (address, reason) => {
    const verdict = classifyAddress(address);
    expect(verdict.allowed).toBe(false);
    if (!verdict.allowed) expect(verdict.reason).toMatch(reason);
  });

  it.each(allowed)('allows %s', (address) => {
    expect(classifyAddress(address)).toEqual({ allowed: true });
  });
});

describe('parseIPv6', () => {
  it('expands every notation to eight groups', () => {
    expect(parseIPv6('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIPv6('1:2:3:4:5:6:1.2.3.4')).toEqual([1, 2, 3, 4, 5, 6, 0x0102, 0x0304]);
    expect(parseIPv6('1.2.3.4')).toBeUndefined();
  });
});

/** The cloud platform's endpoints, in every notation: refused even with private networks allowed. */
const PLATFORM = [
  '169.254.169.254', '168.63.129.16', '169.254.170.2', '169.254.170.23', '100.100.100.200',
  '::ffff:168.63.129.16', '::ffff:a83f:8110', '[::ffff:169.254.169.254]', '::ffff:0:168.63.129.16', '::168.63.129.16',
  '64:ff9b::a9fe:a9fe', '2002:a83f:8110::1', 'fd00:ec2::254', 'fd00:ec2:0:0:0:0:0:254', 'fd00:ec2::23', 'fd20:ce::254', 'fd20:ce::254%eth0',
];

describe('addressPolicy', () => {
  it('strict (the default): refuses private and platform addresses alike, allows public ones', () => {
    for (const address of ['127.0.0.1', '10.0.0.1', '::1', ...PLATFORM]) expect(STRICT_ADDRESS_POLICY.judge(address).allowed, address).toBe(false);
    expect(STRICT_ADDRESS_POLICY.judge('8.8.8.8')).toEqual({ allowed: true });
    expect(STRICT_ADDRESS_POLICY.allowsPrivateNetworks).toBe(false);
  });

  it('private networks allowed: everything but the cloud platform endpoints, which say why', () => {
    const policy = addressPolicy({ allowPrivateNetworks: true });
    for (const address of ['127.0.0.1', '10.0.0.1', '192.168.1.1', '169.254.1.1', '100.64.0.1', '::1', 'fe80::1', 'fd12:3456::1', '::ffff:127.0.0.1', '8.8.8.8']) {
      expect(policy.judge(address), address).toEqual({ allowed: true });
    }
    for (const address of PLATFORM) {
      const verdict = policy.judge(address);
      expect(verdict, address).toMatchObject({ allowed: false, platform: true });
      if (!verdict.allowed) expect(verdict.reason, address).toMatch(/cloud (metadata|platform|credentials) endpoint/);
    }
  });

  it('an address named in WEBHOOK_ALLOWED_ADDRESSES is allowed in any notation, and only that one', () => {
    const named = addressPolicy({ allowPrivateNetworks: true, allowedAddresses: ['168.63.129.16', 'FD00:EC2:0::254'] });
    for (const address of ['168.63.129.16', '::ffff:168.63.129.16', '[::ffff:a83f:8110]', 'fd00:ec2::254']) expect(named.judge(address), address).toEqual({ allowed: true });
    expect(named.judge('169.254.169.254').allowed).toBe(false);
    expect(named.judge('fd00:ec2::23').allowed).toBe(false);
    const strict = addressPolicy({ allowPrivateNetworks: false, allowedAddresses: ['10.0.0.8'] });
    expect(strict.judge('10.0.0.8')).toEqual({ allowed: true });
    expect(strict.judge('10.0.0.9').allowed).toBe(false);
    expect(strict.judge('127.0.0.1').allowed).toBe(false);
  });
});

describe('canonicalAddress', () => {
  it('writes each address one way: IPv4 dotted, IPv4-mapped as IPv4, IPv6 as eight groups', () => {
    expect(canonicalAddress('168.63.129.16')).toBe('168.63.129.16');
    expect(canonicalAddress('::ffff:a83f:8110')).toBe('168.63.129.16');
    expect(canonicalAddress('[::FFFF:168.63.129.16]')).toBe('168.63.129.16');
    expect(canonicalAddress('fd00:ec2::254')).toBe(canonicalAddress('FD00:0EC2:0:0:0:0:0:0254'));
    expect(canonicalAddress('::168.63.129.16')).not.toBe('168.63.129.16');
    expect(canonicalAddress('example.com')).toBeUndefined();
  });
});
