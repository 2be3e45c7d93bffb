/**
 * Credential expiry (issue 18): a secret's expiry given on POST/PATCH, shown in the connection
 * and in verify, counted in /metrics, and warned of as connection.credential_expiring by two
 * worker instances on one Redis: each warning once, a new expiry arms them again. Thresholds are
 * crossed by giving expiries that have already crossed them (the check runs every 150 ms here).
 * "Once" is checked after both workers have run their check at least twice more (their debug log).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import type { ReceivedDelivery } from '../../sandbox/webhook-receiver.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { waitUntil } from '../support/mail.js';

const DAY = 86_400_000;
let sandbox: Sandbox;
let a: TestApp;
let b: TestApp;

const checks = (t: TestApp): number => t.logs.lines.filter((line) => line.includes('"credential expiry checked"')).length;

/** Both workers have run their check at least twice since now. */
async function twoMoreChecks(): Promise<void> {
  const [fromA, fromB] = [checks(a), checks(b)];
  await waitUntil('two more checks by each worker', () => checks(a) >= fromA + 2 && checks(b) >= fromB + 2);
}

const warningsOf = (connectionId: string): ReceivedDelivery[] =>
  sandbox.receiver.received.filter((d) => d.type === 'connection.credential_expiring' && (d.body as { data: { connectionId: string } }).data.connectionId === connectionId);

beforeAll(async () => {
  sandbox = await startSandbox();
  const shared = {
    ...sandbox.serviceEnv(),
    REDIS_PREFIX: `test-${randomBytes(6).toString('hex')}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CREDENTIAL_EXPIRY_CHECK_MS: '150',
    LOG_LEVEL: 'debug',
    WEBHOOK_RETRY_BASE_MS: '50',
  };
  a = await buildTestApp(sandbox.redis.url, shared);
  b = await buildTestApp(sandbox.redis.url, shared);
  const hook = await a.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: a.auth,
    payload: { url: sandbox.receiver.url, events: ['connection.credential_expiring'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  await Promise.all([a.deps.jobs.startAll(), b.deps.jobs.startAll()]);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await sandbox?.stop();
});

const appOnly = (extra: Record<string, unknown>) => ({
  name: 'expiring', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
  clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url, ...extra,
});

describe('a client secret with an expiry', () => {
  it('is shown in the connection, in verify and in /metrics', async () => {
    const expiresAt = new Date(Date.now() + 400 * DAY);
    const created = await a.app.inject({ method: 'POST', url: '/v1/connections', headers: a.auth, payload: appOnly({ credentialExpiresAt: expiresAt.toISOString().replace('Z', '+00:00') }) });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    expect(created.json().credential).toEqual({ type: 'secret', expiresAt: expiresAt.toISOString() });
    expect(created.json().consentedTenants).toEqual([]);
    const listed = await b.app.inject({ method: 'GET', url: '/v1/connections', headers: b.auth });
    expect(listed.json().items.find((c: { id: string }) => c.id === id).credential.expiresAt).toBe(expiresAt.toISOString());
    const verify = await a.app.inject({ method: 'POST', url: `/v1/connections/${id}/verify`, headers: a.auth });
    expect(verify.json()).toMatchObject({ ok: true, credential: { type: 'secret', expiresAt: expiresAt.toISOString() } });
    const metrics = (await a.app.inject({ method: 'GET', url: '/metrics' })).body;
    const seconds = Number(/^mailsync_connection_credential_expiry_seconds\{type="secret"\} (-?\d+)$/m.exec(metrics)?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(400 * 86_400);
    expect(metrics).not.toContain(id);
    await a.app.inject({ method: 'DELETE', url: `/v1/connections/${id}`, headers: a.auth });
  });

  it('refuses an expiry that is not an RFC 3339 time, or for a credential that is not a secret', async () => {
    for (const credentialExpiresAt of ['tomorrow', '2027-05-31', '2027-05-31T00:00:00', '2027-02-30T00:00:00Z', '1970-01-01T00:00:00Z', '2027-05-31T00:00:00Z\n', 'x'.repeat(65)]) {
      const res = await a.app.inject({ method: 'POST', url: '/v1/connections', headers: a.auth, payload: appOnly({ credentialExpiresAt }) });
      expect(res.statusCode, credentialExpiresAt).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    const federated = await a.app.inject({
      method: 'POST', url: '/v1/connections', headers: a.auth,
      payload: { ...appOnly({}), clientSecret: undefined, federated: { tokenFile: '/var/run/token' } },
    });
    expect(federated.statusCode, federated.body).toBe(201);
    const both = await a.app.inject({ method: 'POST', url: '/v1/connections', headers: a.auth, payload: { ...appOnly({}), clientSecret: undefined, federated: { tokenFile: '/var/run/token' }, credentialExpiresAt: '2027-05-31T00:00:00Z' } });
    expect(both.statusCode).toBe(400);
    const patch = await a.app.inject({ method: 'PATCH', url: `/v1/connections/${federated.json().id}`, headers: a.auth, payload: { credentialExpiresAt: '2027-05-31T00:00:00Z' } });
    expect(patch.statusCode).toBe(400);
    expect(patch.json().hint).toMatch(/certificate's expiry is read from the certificate/);
    await a.app.inject({ method: 'DELETE', url: `/v1/connections/${federated.json().id}`, headers: a.auth });
  });

  it('is warned of once per threshold by two workers, and again after a PATCH gives a new expiry', async () => {
    const created = await a.app.inject({ method: 'POST', url: '/v1/connections', headers: a.auth, payload: appOnly({ credentialExpiresAt: new Date(Date.now() + 5 * DAY).toISOString() }) });
    const id = created.json().id as string;

    // 5 days left: the 7-day warning only (the 30-day one is passed over).
    const seven = await sandbox.receiver.waitFor((d) => warningsOf(id).includes(d));
    expect(seven.verified).toBe(true);
    expect((seven.body as { data: unknown }).data).toEqual({
      connectionId: id, name: 'expiring', credential: { type: 'secret', expiresAt: created.json().credential.expiresAt }, daysLeft: 4, threshold: 7,
    });
    await twoMoreChecks();
    expect(warningsOf(id)).toHaveLength(1);

    // A new expiry, 20 days ahead: armed again, the 30-day warning once.
    const later = new Date(Date.now() + 20 * DAY).toISOString();
    expect((await b.app.inject({ method: 'PATCH', url: `/v1/connections/${id}`, headers: b.auth, payload: { credentialExpiresAt: later } })).statusCode).toBe(200);
    await waitUntil('the 30-day warning', () => warningsOf(id).length === 2);
    expect((warningsOf(id)[1]!.body as { data: unknown }).data).toMatchObject({ credential: { expiresAt: later }, threshold: 30, daysLeft: 19 });

    // A new secret that expired an hour ago: the expiry warning (threshold 0), once.
    const expired = new Date(Date.now() - 3_600_000).toISOString();
    const rotated = await a.app.inject({ method: 'PATCH', url: `/v1/connections/${id}`, headers: a.auth, payload: { clientSecret: SANDBOX_APP_ONLY.secret, credentialExpiresAt: expired } });
    expect(rotated.json().credential).toEqual({ type: 'secret', expiresAt: expired });
    await waitUntil('the expiry warning', () => warningsOf(id).length === 3);
    expect((warningsOf(id)[2]!.body as { data: unknown }).data).toMatchObject({ credential: { expiresAt: expired }, threshold: 0, daysLeft: 0 });
    await twoMoreChecks();
    expect(warningsOf(id).map((d) => (d.body as { data: { threshold: number } }).data.threshold)).toEqual([7, 30, 0]);
    expect(new Set(warningsOf(id).map((d) => d.id)).size).toBe(3);

    // A new secret without an expiry: nothing to warn of, and the connection says so.
    const unknown = await a.app.inject({ method: 'PATCH', url: `/v1/connections/${id}`, headers: a.auth, payload: { credentialExpiresAt: null } });
    expect(unknown.json().credential).toEqual({ type: 'secret' });
  });
});
