/**
 * What a webhook URL may be. Checked when a subscription is created; the
 * address part is checked again at every delivery (adapters/http), because
 * DNS may answer differently by then.
 *
 * - http or https only, at most 2 048 characters, no surrounding whitespace;
 * - no user:password@ (it would be stored in clear and sent to every
 *   redirect target of a misconfigured proxy; receivers verify signatures instead);
 * - no #fragment (never sent, so it would only mislead);
 * - the host must not be, or resolve to, any address the address policy
 *   refuses (with private networks allowed, that leaves the cloud platform's
 *   endpoints). Every resolved address is checked, not only the first: the
 *   connection may use any of them.
 */
import { isIP } from 'node:net';
import { STRICT_ADDRESS_POLICY, type AddressPolicy } from './address-policy.js';
import { WebhookTargetForbiddenError, WebhookUrlError } from './errors.js';

export const MAX_URL_LENGTH = 2_048;
/** A subscription request waits this long for DNS at most: a name chosen to resolve slowly must not hold it up. */
export const RESOLVE_TIMEOUT_MS = 3_000;

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address a host name resolves to (the system resolver in production; tests inject their own). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The URL, or a WebhookUrlError saying what is wrong with it. */
export function parseWebhookUrl(raw: string): URL {
  if (raw.length > MAX_URL_LENGTH) throw new WebhookUrlError(`The URL is longer than ${MAX_URL_LENGTH} characters.`);
  if (raw !== raw.trim()) throw new WebhookUrlError('The URL has leading or trailing whitespace.');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError('The URL is not a valid absolute URL.', 'Use a full URL such as https://example.com/hooks/mailsync.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new WebhookUrlError(`The URL scheme ${url.protocol.replace(/:$/, '')} is not allowed: use https (or http).`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new WebhookUrlError('The URL must not contain credentials (user:password@).', 'Receivers authenticate deliveries by their signature.');
  }
  if (url.hash !== '' || raw.includes('#')) throw new WebhookUrlError('The URL must not contain a #fragment.');
  if (url.hostname === '') throw new WebhookUrlError('The URL has no host.');
  return url;
}

/** The host as an address or name, without IPv6 brackets. */
export function hostOf(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

async function resolveWithin(resolve: Resolver, host: string, timeoutMs: number): Promise<ResolvedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no DNS answer within ${timeoutMs} ms`), { code: 'ETIMEOUT' })), timeoutMs);
  });
  try {
    return await Promise.race([resolve(host), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface CheckTargetOptions {
  /** @defaultValue STRICT_ADDRESS_POLICY (every refusal applies) */
  policy?: AddressPolicy;
  /** @defaultValue RESOLVE_TIMEOUT_MS */
  timeoutMs?: number;
}

/**
 * Refuses a URL whose host is, or resolves to, an address the policy refuses. A host name that
 * does not resolve is refused too, unless private networks are allowed: then it passes as it
 * always did (an internal name not in DNS yet), and the guarded lookup judges it at every delivery.
 */
export async function checkTarget(url: URL, resolve: Resolver, options: CheckTargetOptions = {}): Promise<void> {
  const { policy = STRICT_ADDRESS_POLICY, timeoutMs = RESOLVE_TIMEOUT_MS } = options;
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    const verdict = policy.judge(host);
    if (!verdict.allowed) throw new WebhookTargetForbiddenError(host, host, verdict.reason, verdict.platform);
    return;
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolveWithin(resolve, host, timeoutMs);
  } catch (err) {
    if (policy.allowsPrivateNetworks) return;
    const code = (err as { code?: unknown }).code;
    throw new WebhookUrlError(`The host ${host} does not resolve${typeof code === 'string' ? ` (${code})` : ''}.`);
  }
  if (addresses.length === 0 && !policy.allowsPrivateNetworks) throw new WebhookUrlError(`The host ${host} does not resolve.`);
  for (const { address } of addresses) {
    const verdict = policy.judge(address);
    if (!verdict.allowed) throw new WebhookTargetForbiddenError(host, address, verdict.reason, verdict.platform);
  }
}
