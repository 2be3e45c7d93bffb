/**
 * `mailsync_connection_credential_expiry_seconds{type}`: seconds until the
 * soonest expiry among the connections' credentials of each type (secret,
 * certificate), negative once one has expired; read from Redis when /metrics
 * is scraped, so every process reports the same (aggregate with min()). No
 * connection ids in labels: GET /v1/connections says which one. A type with
 * no known expiry has no series. Alert on `< 7 * 86400`.
 */
import { Gauge } from 'prom-client';
import type { CredentialExpiry } from '../domain/connections/service.js';
import type { Metrics } from './metrics.js';
import { withinDeadline } from './scrape-deadline.js';

export function registerCredentialExpiryGauge(
  metrics: Pick<Metrics, 'registry' | 'onScrape'>,
  expiries: () => Promise<CredentialExpiry[]>,
  now: () => number = Date.now,
  timeoutMs = 2_000,
): void {
  const gauge = new Gauge({
    name: 'mailsync_connection_credential_expiry_seconds',
    help: 'Seconds until the soonest credential expiry among connections, by credential type (negative: expired), read from Redis at scrape time.',
    labelNames: ['type'],
    registers: [metrics.registry],
  });
  metrics.onScrape(async () => {
    let soonest: Map<string, number>;
    try {
      soonest = new Map();
      for (const { type, expiresAt } of await withinDeadline(expiries(), timeoutMs, 'credential expiries')) {
        const at = Date.parse(expiresAt);
        if (!Number.isNaN(at)) soonest.set(type, Math.min(soonest.get(type) ?? Infinity, at));
      }
    } catch {
      // Unknown, not stale: a failed read leaves no series (an alert on a missing series catches it).
      gauge.reset();
      return;
    }
    gauge.reset();
    for (const [type, at] of soonest) gauge.set({ type }, Math.round((at - now()) / 1000));
  });
}
