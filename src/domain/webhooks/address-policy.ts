/**
 * Which IP addresses a webhook may reach: the SSRF guard's one decision,
 * pure and exhaustively tested. Everything that is not ordinary global
 * unicast is refused: loopback, private and shared (CGNAT) ranges,
 * link-local (with the cloud metadata addresses), unspecified, multicast,
 * broadcast, documentation and reserved ranges, and every IPv6 form that
 * carries an IPv4 address inside it (mapped, compatible, SIIT, NAT64, 6to4),
 * which is judged by the IPv4 address it carries.
 *
 * IPv6 is allowed only inside 2000::/3 (global unicast); the rest of the
 * IPv6 space is unassigned or special, and a webhook never needs it.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: AddressVerdict = { allowed: true };
const refuse = (reason: string): AddressVerdict => ({ allowed: false, reason });

/** [network, prefix length, reason]; the first match wins (metadata before link-local). */
const IPV4_REFUSED: readonly [string, number, string][] = [
  ['169.254.169.254', 32, 'cloud metadata endpoint'],
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private network'],
  ['100.64.0.0', 10, 'shared address space (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private network'],
  ['192.0.0.0', 24, 'reserved (IETF protocol assignments)'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved (6to4 relay anycast)'],
  ['192.168.0.0', 16, 'private network'],
  ['198.18.0.0', 15, 'reserved (benchmarking)'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['255.255.255.255', 32, 'broadcast'],
  ['240.0.0.0', 4, 'reserved'],
];

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

const IPV4_TABLE = IPV4_REFUSED.map(([network, bits, reason]) => {
  const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
  return { base: ipv4ToInt(network), mask, reason };
});

function classifyIPv4Int(value: number): AddressVerdict {
  for (const { base, mask, reason } of IPV4_TABLE) {
    // Unsigned arithmetic: `&` in JavaScript is signed 32-bit, so compare through >>> 0.
    if (((value & mask) >>> 0) === base) return refuse(reason);
  }
  return ALLOWED;
}

/** Eight 16-bit groups, or undefined for text that is not an IPv6 address. */
export function parseIPv6(text: string): number[] | undefined {
  let address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  if (!isIPv6(address)) return undefined;
  // A dotted IPv4 tail (`::ffff:127.0.0.1`) stands for the last two groups.
  let tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  if (address.slice(lastColon + 1).includes('.')) {
    const v4 = ipv4ToInt(address.slice(lastColon + 1));
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    address = address.slice(0, lastColon + 1);
    if (!address.endsWith('::')) address = address.slice(0, -1);
  }
  const parts = address.split('::');
  if (parts.length > 2) return undefined;
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)));
  const left = groups(parts[0] ?? '');
  const right = parts.length === 2 ? groups(parts[1] ?? '') : [];
  const fill = 8 - tail.length - left.length - right.length;
  if (parts.length === 1 ? fill !== 0 : fill < 0) return undefined;
  return [...left, ...new Array<number>(parts.length === 2 ? fill : 0).fill(0), ...right, ...tail];
}

const embedded = (high: number, low: number): number => high * 65536 + low;

function judgeEmbedded(kind: string, v4: number): AddressVerdict {
  const verdict = classifyIPv4Int(v4);
  return verdict.allowed ? verdict : refuse(`${kind} ${verdict.reason}`);
}

function classifyIPv6Groups(g: number[]): AddressVerdict {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8)) return refuse('unspecified');
  if (zeroTo(7) && g7 === 1) return refuse('loopback');
  if (zeroTo(5) && g5 === 0xffff) return judgeEmbedded('IPv4-mapped', embedded(g6, g7));
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return judgeEmbedded('IPv4-translated', embedded(g6, g7));
  if (zeroTo(6)) return judgeEmbedded('IPv4-compatible', embedded(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return judgeEmbedded('NAT64', embedded(g6, g7));
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return refuse('local-use NAT64');
  if (g0 === 0x2002) return judgeEmbedded('6to4', embedded(g1, g2));
  if (g0 === 0xfd00 && g1 === 0x0ec2 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0 && g6 === 0 && g7 === 0x254) {
    return refuse('cloud metadata endpoint');
  }
  if ((g0 & 0xfe00) === 0xfc00) return refuse('private network (unique local)');
  if ((g0 & 0xffc0) === 0xfe80) return refuse('link-local');
  if ((g0 & 0xffc0) === 0xfec0) return refuse('site-local');
  if ((g0 & 0xff00) === 0xff00) return refuse('multicast');
  if (g0 === 0x2001 && g1 === 0x0db8) return refuse('documentation');
  if (g0 === 0x3fff && g1 < 0x1000) return refuse('documentation');
  if (g0 === 0x2001 && g1 === 0) return refuse('reserved (Teredo)');
  if ((g0 & 0xe000) !== 0x2000) return refuse('reserved');
  return ALLOWED;
}

/** The verdict on one IP address (v4, v6, bracketed or with a zone id). Text that is no IP address is refused. */
export function classifyAddress(address: string): AddressVerdict {
  if (isIPv4(address)) return classifyIPv4Int(ipv4ToInt(address));
  const groups = parseIPv6(address);
  if (!groups) return refuse('not an IP address');
  return classifyIPv6Groups(groups);
}
