/** The SSRF guard's address verdicts: every refused range, and its IPv6 disguises. */
import { describe, expect, it } from 'vitest';
import { classifyAddress, parseIPv6 } from '../../src/domain/webhooks/address-policy.js';

const refused: [string, RegExp][] = [
  ['127.0.0.1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['10.1.2.3', /private/],
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.168.1.1', /private/],
  ['100.64.0.1', /shared/],
  ['100.100.100.200', /shared/],
  ['169.254.169.254', /metadata/],
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
