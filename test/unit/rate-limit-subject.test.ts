/** Who a public-route request counts against: an IPv4 address, an IPv6 /64, an IPv4-mapped address as its IPv4 client. */
import { describe, expect, it } from 'vitest';
import { rateLimitSubject } from '../../src/http/plugins/rate-limit-subject.js';

describe('rateLimitSubject', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(rateLimitSubject('198.51.100.7')).toBe('198.51.100.7');
    expect(rateLimitSubject('10.0.0.1')).not.toBe(rateLimitSubject('10.0.0.2'));
  });

  it.each([
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:0000:0000:0000:0009', '2001:db8:1:2::/64'],
    ['[2001:db8:1:2::3]', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
  ])('groups the IPv6 address %s by its /64 (%s)', (address, subject) => {
    expect(rateLimitSubject(address)).toBe(subject);
  });

  it('tells apart two /64s that share a /48', () => {
    expect(rateLimitSubject('2001:db8:1:2::1')).not.toBe(rateLimitSubject('2001:db8:1:3::1'));
  });

  it.each([
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:198.51.100.7', '198.51.100.7'],
    ['::ffff:c633:6407', '198.51.100.7'],
    ['0:0:0:0:0:ffff:0102:0304', '1.2.3.4'],
  ])('counts the IPv4-mapped address %s as the IPv4 client %s', (address, subject) => {
    expect(rateLimitSubject(address)).toBe(subject);
  });

  it('does not take other IPv6 forms that carry an IPv4 address for that IPv4 client', () => {
    // IPv4-compatible (deprecated) and NAT64 addresses are IPv6 clients: grouped by their /64.
    expect(rateLimitSubject('::1.2.3.4')).toBe('0:0:0:0::/64');
    expect(rateLimitSubject('64:ff9b::1.2.3.4')).toBe('64:ff9b:0:0::/64');
  });

  it('keeps text that is no IP address as it is (its own subject)', () => {
    expect(rateLimitSubject('unknown')).toBe('unknown');
  });
});
