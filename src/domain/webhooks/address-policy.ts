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
 *
 * Two tiers: WEBHOOK_ALLOW_PRIVATE_NETWORKS lifts every refusal but one,
 * the cloud platform's own endpoints (instance metadata and credentials,
 * Azure's WireServer): they hand out tokens and configuration to whatever
 * on the machine asks, so a webhook that reaches them is a credential leak,
 * and no receiver lives there. Only WEBHOOK_ALLOWED_ADDRESSES, naming the
 * address itself, lets a webhook reach one (or any other refused address).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string; platform: boolean };

const ALLOWED: AddressVerdict = { allowed: true };
const refuse = (reason: string, platform = false): AddressVerdict => ({ allowed: false, reason, platform });

/**
 * The cloud platform's endpoints, refused even when private networks are allowed. [address, reason].
 * 169.254.169.254: instance metadata (AWS, Azure, Google Cloud, Oracle, OpenStack, DigitalOcean…);
 * 168.63.129.16: Azure's WireServer (platform DNS, health probes, VM agent and extension settings);
 * 169.254.170.2: AWS ECS task credentials; 169.254.170.23: AWS EKS Pod Identity credentials;
 * 100.100.100.200: Alibaba Cloud metadata.
 */
const IPV4_PLATFORM: readonly [string, string][] = [
  ['169.254.169.254', 'cloud metadata endpoint'],
  ['168.63.129.16', 'cloud platform endpoint (Azure WireServer)'],
  ['169.254.170.2', 'cloud credentials endpoint (AWS ECS)'],
  ['169.254.170.23', 'cloud credentials endpoint (AWS EKS Pod Identity)'],
  ['100.100.100.200', 'cloud metadata endpoint (Alibaba Cloud)'],
];

/** The IPv6 addresses of the same services: AWS's metadata and EKS Pod Identity, Google Cloud's metadata. */
const IPV6_PLATFORM: readonly [string, string][] = [
  ['fd00:ec2::254', 'cloud metadata endpoint'],
  ['fd00:ec2::23', 'cloud credentials endpoint (AWS EKS Pod Identity)'],
  ['fd20:ce::254', 'cloud metadata endpoint (Google Cloud)'],
];

/** [network, prefix length, reason]; the first match wins. */
const IPV4_REFUSED: readonly [string, number, string][] = [
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

const IPV4_PLATFORM_TABLE = new Map(IPV4_PLATFORM.map(([address, reason]) => [ipv4ToInt(address), reason]));

function classifyIPv4Int(value: number): AddressVerdict {
  const platform = IPV4_PLATFORM_TABLE.get(value);
  if (platform !== undefined) return refuse(platform, true);
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
  return verdict.allowed ? verdict : refuse(`${kind} ${verdict.reason}`, verdict.platform);
}

/** The groups as one key (for the platform table and the allow-list). */
const groupsKey = (g: readonly number[]): string => g.map((x) => x.toString(16)).join(':');

const IPV6_PLATFORM_TABLE = new Map(IPV6_PLATFORM.map(([address, reason]) => [groupsKey(parseIPv6(address)!), reason]));

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
  const platform = IPV6_PLATFORM_TABLE.get(groupsKey(g));
  if (platform !== undefined) return refuse(platform, true);
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

/**
 * One address in one canonical text, for the allow-list: IPv4 dotted, IPv6 as its eight groups,
 * an IPv4-mapped IPv6 address as the IPv4 address it is (the same socket destination).
 * Undefined for text that is no IP address.
 */
export function canonicalAddress(address: string): string | undefined {
  if (isIPv4(address)) return address.split('.').map(Number).join('.');
  const g = parseIPv6(address);
  if (!g) return undefined;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const v4 = embedded(g[6]!, g[7]!);
    return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
  }
  return groupsKey(g);
}

export interface AddressPolicyOptions {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: allow every refused address but the cloud platform's endpoints. */
  allowPrivateNetworks: boolean;
  /** WEBHOOK_ALLOWED_ADDRESSES: IP addresses allowed whatever the rules say (validated by the config). */
  allowedAddresses?: readonly string[] | undefined;
}

/** The verdict on an address under the deployment's settings. */
export interface AddressPolicy {
  judge(address: string): AddressVerdict;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS as set. */
  readonly allowsPrivateNetworks: boolean;
}

export function addressPolicy(options: AddressPolicyOptions): AddressPolicy {
  const named = new Set((options.allowedAddresses ?? []).map(canonicalAddress).filter((a) => a !== undefined));
  return {
    allowsPrivateNetworks: options.allowPrivateNetworks,
    judge: (address) => {
      const verdict = classifyAddress(address);
      if (verdict.allowed) return verdict;
      if (named.size > 0 && named.has(canonicalAddress(address) ?? '')) return ALLOWED;
      if (options.allowPrivateNetworks && !verdict.platform) return ALLOWED;
      return verdict;
    },
  };
}

/** The default: every refusal applies. */
export const STRICT_ADDRESS_POLICY: AddressPolicy = addressPolicy({ allowPrivateNetworks: false });
