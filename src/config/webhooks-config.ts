/**
 * Webhook delivery settings, read from the environment like the rest of the
 * config (see config.ts). Every duration says its unit in its name; the
 * defaults are the production values, tests shrink the delays.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors/errors.js';
import { EnvValueError, parseBoolean, parseInteger, parseList } from './env-spec.js';

export interface WebhooksConfig {
  /**
   * Deliver to loopback, private, link-local… addresses (off: refused, against SSRF). The cloud
   * platform's endpoints (metadata, credentials, Azure WireServer) stay refused. @defaultValue false
   */
  allowPrivateNetworks: boolean;
  /**
   * IP addresses webhooks may reach although the address policy refuses them, a platform
   * endpoint included: each is named on purpose (WEBHOOK_ALLOWED_ADDRESSES). @defaultValue []
   */
  allowedAddresses: string[];
  /** One attempt's whole budget: connect, send, headers and the bounded body read (ms). @defaultValue 10 000 */
  timeoutMs: number;
  retry: {
    /** Delay after the first failed attempt (ms); it doubles after each further failure. @defaultValue 5 000 */
    baseDelayMs: number;
    /** The doubling stops here (ms). @defaultValue 3 600 000 (1 h) */
    maxDelayMs: number;
    /** Keep retrying until at least this long after the first attempt (ms); sets the attempt count. @defaultValue 86 400 000 (24 h) */
    windowMs: number;
  };
  /** How long the previous secret still signs after a rotation (s). @defaultValue 86 400 */
  secretGraceSeconds: number;
  /** Worker slots for healthy endpoints, per worker process. @defaultValue 128 */
  concurrency: number;
  /** Worker slots for endpoints marked unhealthy, per worker process. @defaultValue 16 */
  probeConcurrency: number;
  /** Attempts one subscription may have in flight at once (across all workers). @defaultValue 16 */
  maxInFlightPerSubscription: number;
  /**
   * An admitted delivery not yet taken by a worker gets its slot back and is admitted anew after
   * this long (ms): what a process killed between admitting and queueing a delivery costs it.
   * @defaultValue 300 000 (5 min)
   */
  admissionLeaseMs: number;
  /** Consecutive failed attempts after which an endpoint is unhealthy. @defaultValue 5 */
  unhealthyAfterFailures: number;
  /** An unhealthy endpoint gets one attempt at a time, this long after the last failure (ms). @defaultValue 5 000 */
  probeIntervalMs: number;
  /** How often each worker process looks for deliveries that became due (ms). @defaultValue 500 */
  sweepIntervalMs: number;
  retention: {
    /** Finished deliveries kept per subscription. @defaultValue 1 000 */
    count: number;
    /** Finished deliveries are dropped after this many days. @defaultValue 7 */
    days: number;
  };
}

type Read = <T>(name: string, parse: (raw: string) => T, fallback: T) => T;

const DAY_MS = 86_400_000;

/** Comma-separated IP addresses (no names: DNS could answer another address; no ranges: each is named on purpose). */
function parseAddresses(raw: string): string[] {
  const addresses = parseList(raw).map((item) => (item.startsWith('[') && item.endsWith(']') ? item.slice(1, -1) : item));
  const bad = addresses.find((address) => isIP(address) === 0);
  if (bad !== undefined) throw new EnvValueError(`must be comma-separated IP addresses, got ${JSON.stringify(bad)}`);
  return addresses;
}

export function loadWebhooksConfig(read: Read): WebhooksConfig {
  const config: WebhooksConfig = {
    allowPrivateNetworks: read('WEBHOOK_ALLOW_PRIVATE_NETWORKS', parseBoolean, false),
    allowedAddresses: read('WEBHOOK_ALLOWED_ADDRESSES', parseAddresses, []),
    timeoutMs: read('WEBHOOK_TIMEOUT_MS', parseInteger(100, 120_000), 10_000),
    retry: {
      baseDelayMs: read('WEBHOOK_RETRY_BASE_MS', parseInteger(1, DAY_MS), 5_000),
      maxDelayMs: read('WEBHOOK_RETRY_MAX_DELAY_MS', parseInteger(1, DAY_MS), 3_600_000),
      windowMs: read('WEBHOOK_RETRY_WINDOW_MS', parseInteger(0, 30 * DAY_MS), DAY_MS),
    },
    secretGraceSeconds: read('WEBHOOK_SECRET_GRACE_SECONDS', parseInteger(0, 30 * 86_400), 86_400),
    concurrency: read('WEBHOOK_CONCURRENCY', parseInteger(1, 2_000), 128),
    probeConcurrency: read('WEBHOOK_PROBE_CONCURRENCY', parseInteger(1, 1_000), 16),
    maxInFlightPerSubscription: read('WEBHOOK_MAX_IN_FLIGHT', parseInteger(1, 1_000), 16),
    unhealthyAfterFailures: read('WEBHOOK_UNHEALTHY_AFTER_FAILURES', parseInteger(1, 10_000), 5),
    probeIntervalMs: read('WEBHOOK_PROBE_INTERVAL_MS', parseInteger(1, DAY_MS), 5_000),
    admissionLeaseMs: read('WEBHOOK_ADMISSION_LEASE_MS', parseInteger(1_000, DAY_MS), 300_000),
    sweepIntervalMs: read('WEBHOOK_SWEEP_INTERVAL_MS', parseInteger(10, 60_000), 500),
    retention: {
      count: read('WEBHOOK_DELIVERY_RETENTION_COUNT', parseInteger(1, 1_000_000), 1_000),
      days: read('WEBHOOK_DELIVERY_RETENTION_DAYS', parseInteger(1, 365), 7),
    },
  };
  if (config.retry.maxDelayMs < config.retry.baseDelayMs) {
    throw new ConfigError('WEBHOOK_RETRY_MAX_DELAY_MS', 'must not be smaller than WEBHOOK_RETRY_BASE_MS');
  }
  return config;
}
