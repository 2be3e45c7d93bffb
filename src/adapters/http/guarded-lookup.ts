/**
 * The delivery-time half of the SSRF guard: a `lookup` for net/tls.connect
 * that resolves the host itself, refuses the connection when any resolved
 * address is one the address policy refuses, and hands the socket exactly the
 * addresses it checked. Because the check and the connection use the same
 * answer, a DNS rebind (public when the subscription was created, 127.0.0.1
 * now, or a different answer between two lookups) cannot slip through. It
 * runs with private networks allowed too: the policy then refuses only the
 * cloud platform's endpoints (a name resolving to 168.63.129.16, say).
 *
 * IP literals never reach a lookup function (net connects to them directly),
 * so the sender checks those before it connects.
 */
import { promises as dns } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { STRICT_ADDRESS_POLICY, type AddressPolicy } from '../../domain/webhooks/address-policy.js';
import type { ResolvedAddress, Resolver } from '../../domain/webhooks/url-policy.js';

export const TARGET_FORBIDDEN = 'ERR_WEBHOOK_TARGET_FORBIDDEN';

/** A connection refused by the guard; `code` lets the sender tell it from network errors. */
export class ForbiddenTargetError extends Error {
  readonly code = TARGET_FORBIDDEN;
  constructor(host: string, address: string, reason: string) {
    super(host === address ? `${address} is a ${reason} address` : `${host} resolves to ${address}, a ${reason} address`);
    this.name = 'ForbiddenTargetError';
  }
}

/** The system resolver (getaddrinfo, as the OS resolves names), every address, in its order. */
export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** The first address the policy refuses, if any. */
export function firstForbidden(
  addresses: readonly ResolvedAddress[],
  policy: AddressPolicy = STRICT_ADDRESS_POLICY,
): { address: string; reason: string } | undefined {
  for (const { address } of addresses) {
    const verdict = policy.judge(address);
    if (!verdict.allowed) return { address, reason: verdict.reason };
  }
  return undefined;
}

function familyOf(option: number | 'IPv4' | 'IPv6' | undefined): 0 | 4 | 6 {
  if (option === 4 || option === 'IPv4') return 4;
  if (option === 6 || option === 'IPv6') return 6;
  return 0;
}

export function guardedLookup(resolve: Resolver = systemResolver, policy: AddressPolicy = STRICT_ADDRESS_POLICY): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const bad = firstForbidden(addresses, policy);
        if (bad) return callback(new ForbiddenTargetError(hostname, bad.address, bad.reason), '', 0);
        const family = familyOf(options.family);
        const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
        const first = usable[0];
        if (!first) {
          return callback(Object.assign(new Error(`no usable address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        }
        if (options.all) return callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
