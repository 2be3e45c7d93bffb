/**
 * Which client a request counts against in the per-client rate limit of the
 * public routes. IPv4: the address. IPv6: its /64, because one subscriber
 * line or host usually gets a whole /64 and can pick any of its 2^64
 * addresses, so counting single addresses would be no limit at all. An
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket
 * reports for an IPv4 client) is the IPv4 client it stands for. Pure.
 */
import { isIPv4 } from 'node:net';
import { parseIPv6 } from '../../domain/webhooks/address-policy.js';

const hex = (group: number): string => group.toString(16);

export function rateLimitSubject(ip: string): string {
  if (isIPv4(ip)) return ip;
  const groups = parseIPv6(ip);
  if (!groups) return ip;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    return [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff].join('.');
  }
  return `${[g0, g1, g2, g3].map(hex).join(':')}::/64`;
}
