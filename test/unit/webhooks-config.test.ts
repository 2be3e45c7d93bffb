/** The webhook settings: production defaults, and one clear line for a bad value. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors/errors.js';

const base = { API_KEYS: 'k'.repeat(24), ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };

describe('webhook settings', () => {
  it('defaults to the production values', () => {
    expect(loadConfig(base).webhooks).toEqual({
      allowPrivateNetworks: false,
      allowedAddresses: [],
      timeoutMs: 10_000,
      retry: { baseDelayMs: 5_000, maxDelayMs: 3_600_000, windowMs: 86_400_000 },
      secretGraceSeconds: 86_400,
      concurrency: 128,
      probeConcurrency: 16,
      maxInFlightPerSubscription: 16,
      unhealthyAfterFailures: 5,
      probeIntervalMs: 5_000,
      sweepIntervalMs: 500,
      retention: { count: 1_000, days: 7 },
      admissionLeaseMs: 300_000,
    });
  });

  it('reads every variable', () => {
    const webhooks = loadConfig({
      ...base,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_ALLOWED_ADDRESSES: '168.63.129.16, [fd00:ec2::254],10.0.0.8',
      WEBHOOK_TIMEOUT_MS: '2500',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_MAX_DELAY_MS: '200',
      WEBHOOK_RETRY_WINDOW_MS: '1000',
      WEBHOOK_SECRET_GRACE_SECONDS: '0',
      WEBHOOK_CONCURRENCY: '8',
      WEBHOOK_PROBE_CONCURRENCY: '2',
      WEBHOOK_MAX_IN_FLIGHT: '4',
      WEBHOOK_UNHEALTHY_AFTER_FAILURES: '3',
      WEBHOOK_PROBE_INTERVAL_MS: '100',
      WEBHOOK_SWEEP_INTERVAL_MS: '20',
      WEBHOOK_DELIVERY_RETENTION_COUNT: '10',
      WEBHOOK_DELIVERY_RETENTION_DAYS: '1',
      WEBHOOK_ADMISSION_LEASE_MS: '5000',
    }).webhooks;
    expect(webhooks.admissionLeaseMs).toBe(5_000);
    expect(webhooks).toMatchObject({ allowPrivateNetworks: true, allowedAddresses: ['168.63.129.16', 'fd00:ec2::254', '10.0.0.8'], timeoutMs: 2_500, retry: { baseDelayMs: 50, maxDelayMs: 200, windowMs: 1_000 }, secretGraceSeconds: 0, retention: { count: 10, days: 1 } });
  });

  it.each([
    [{ WEBHOOK_TIMEOUT_MS: '10s' }, 'WEBHOOK_TIMEOUT_MS', 'whole number'],
    [{ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe' }, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'true or false'],
    [{ WEBHOOK_ALLOWED_ADDRESSES: '168.63.129.16,metadata.internal' }, 'WEBHOOK_ALLOWED_ADDRESSES', 'IP addresses, got "metadata.internal"'],
    [{ WEBHOOK_ALLOWED_ADDRESSES: '10.0.0.0/8' }, 'WEBHOOK_ALLOWED_ADDRESSES', 'IP addresses'],
    [{ WEBHOOK_RETRY_BASE_MS: '5000', WEBHOOK_RETRY_MAX_DELAY_MS: '1000' }, 'WEBHOOK_RETRY_MAX_DELAY_MS', 'not be smaller than WEBHOOK_RETRY_BASE_MS'],
    [{ WEBHOOK_MAX_IN_FLIGHT: '0' }, 'WEBHOOK_MAX_IN_FLIGHT', 'from 1'],
    [{ WEBHOOK_ADMISSION_LEASE_MS: '10' }, 'WEBHOOK_ADMISSION_LEASE_MS', 'from 1000'],
  ])('refuses %o', (env, variable, message) => {
    let error: unknown;
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(message);
  });
});
