/**
 * TRUST_PROXY: whose X-Forwarded-For the service believes for a client's
 * address (rate limits and logs). `false` (the default): the peer's address,
 * right when nothing sits in front. `true`: any proxy (only when every
 * request comes through one). A number: that many proxy hops. Otherwise a
 * comma-separated list of proxy addresses or CIDR ranges. Fastify's
 * `trustProxy` option takes each of these as it is.
 */
import { isIP } from 'node:net';
import { EnvValueError, parseList } from './env-spec.js';

export type TrustProxy = boolean | number | string[];

export function parseTrustProxy(raw: string): TrustProxy {
  const value = raw.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > 10) throw new EnvValueError('must be true, false, a hop count from 1 to 10, or proxy addresses/CIDRs');
    return hops;
  }
  const entries = parseList(value);
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const okBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (family === 0 || !okBits || extra !== undefined) {
      throw new EnvValueError(`has "${entry}": expected true, false, a hop count, or proxy addresses/CIDRs (10.0.0.0/8)`);
    }
  }
  if (entries.length === 0) throw new EnvValueError('must not be empty');
  return entries;
}
