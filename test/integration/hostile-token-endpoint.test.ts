/**
 * A token endpoint that answers, but not with a usable token response: HTML,
 * a response without access_token or expires_in, a huge body, a body that
 * drips a byte every second forever. Through the API (POST
 * /v1/connections/{id}/verify, the real MSAL, the real network client), each
 * ends as a typed problem, never a 500 nor a hang, within a bound; the
 * service stays ready; a well-behaved client is unaffected throughout.
 *
 * Each mode gets its own app registration (hostile answers are per client),
 * so the modes run at once and the file takes as long as the slowest.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostileTokenAnswer } from '../../sandbox/identity/index.js';
import { createMsalNetworkClient, exchangeDeadlineMs, MsalHttpError } from '../../src/adapters/msal/network-client.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { DAEMON, TENANT_A, startIdentityFixture, type IdentityFixture } from '../support/identity-fixture.js';

let fx: IdentityFixture;

/** The network client's per-phase timeout the service uses (its default), and so the deadline a whole exchange gets. */
const SERVICE_TIMEOUT_MS = 10_000;
const DEADLINE_MS = exchangeDeadlineMs(SERVICE_TIMEOUT_MS);

const redis = useRedis();
beforeAll(async () => {
  fx = await startIdentityFixture();
});
afterAll(async () => {
  await fx?.close();
});
const t = useTestApp(() => ({ NODE_EXTRA_CA_CERTS: fx.pki.caCertFile }), redis);
afterAll(() => {
  fx?.identity.clearTokenAnswers();
});

/** A fresh app registration whose token requests get `answer`, and a connection for it. */
async function hostileConnection(answer: Omit<HostileTokenAnswer, 'clientId'>): Promise<string> {
  const clientId = randomUUID();
  const secret = `Host8Q~${randomUUID()}`;
  fx.identity.addApp({ clientId, homeTenantId: TENANT_A, secrets: [{ id: randomUUID(), value: secret }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
  fx.identity.injectTokenAnswer({ ...answer, clientId });
  return connection(clientId, secret);
}

async function connection(clientId: string, clientSecret: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'hostile', flow: 'app_only', tenantId: TENANT_A, clientId, clientSecret, authorityHost: fx.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function verify(id: string): Promise<{ status: number; ms: number; body: { ok: boolean; problems: { code: string; detail: string }[] } }> {
  const started = Date.now();
  const res = await t.app.inject({ method: 'POST', url: `/v1/connections/${id}/verify`, headers: t.auth });
  return { status: res.statusCode, ms: Date.now() - started, body: res.json() };
}

const DRIP = 'a body dripping a byte a second';
// A bad answer ends on its own reading, before any of the network client's timeouts could end it.
const CASES: { name: string; answer: Omit<HostileTokenAnswer, 'clientId'>; code: string; withinMs: number }[] = [
  { name: 'an HTML page', answer: { kind: 'non_json' }, code: 'identity_platform_bad_response', withinMs: SERVICE_TIMEOUT_MS },
  { name: 'a token response without access_token', answer: { kind: 'missing_access_token' }, code: 'identity_platform_bad_response', withinMs: SERVICE_TIMEOUT_MS },
  { name: 'a token response without expires_in', answer: { kind: 'missing_expires_in' }, code: 'identity_platform_bad_response', withinMs: SERVICE_TIMEOUT_MS },
  { name: 'a huge chunked body', answer: { kind: 'huge', bytes: 64 * 1024 * 1024 }, code: 'identity_platform_bad_response', withinMs: SERVICE_TIMEOUT_MS },
  { name: 'a huge body with its length declared', answer: { kind: 'huge', bytes: 64 * 1024 * 1024, declareLength: true }, code: 'identity_platform_bad_response', withinMs: SERVICE_TIMEOUT_MS },
  // Every gap is shorter than the idle timeout: only the deadline of the whole exchange ends it.
  { name: DRIP, answer: { kind: 'drip', intervalMs: 1_000 }, code: 'identity_platform_timeout', withinMs: DEADLINE_MS + 5_000 },
];

describe('hostile token endpoint answers, through POST /v1/connections/{id}/verify', () => {
  it('end as typed problems within bounds, never a 500 nor a hang, while a healthy client keeps working', async () => {
    const healthy = await connection(DAEMON.clientId, DAEMON.secret);
    const ids = await Promise.all(CASES.map((c) => hostileConnection(c.answer)));
    const settled = new Set<string>();
    const pending = CASES.map(async (c, i) => {
      const result = await verify(ids[i]!);
      settled.add(c.name);
      return { c, result };
    });
    // While the drip is still dripping (it ends only at the exchange's deadline), the healthy
    // connection is served: an order of events, not a guessed duration.
    const fine = await verify(healthy);
    expect(fine.body.ok, JSON.stringify(fine.body)).toBe(true);
    expect(settled.has(DRIP), 'the healthy verify waited for the dripping one').toBe(false);

    for (const { c, result } of await Promise.all(pending)) {
      expect(result.status, c.name).toBe(200);
      expect(result.body.ok, c.name).toBe(false);
      expect(result.body.problems.map((p) => p.code), c.name).toEqual([c.code]);
      expect(result.ms, c.name).toBeLessThan(c.withinMs);
    }
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(t.logs.records().filter((r) => Number(r.level) >= 50)).toEqual([]);
  }, DEADLINE_MS + 30_000);

  it('names the bad answer in the mailbox doctor\'s token step too, and goes no further', async () => {
    const id = await hostileConnection({ kind: 'missing_expires_in' });
    const mailbox = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: { connectionId: id, email: 'hostile@contoso.example', imap: { host: '127.0.0.1', port: 9, secure: true }, smtp: { host: '127.0.0.1', port: 9, secure: false } },
    });
    expect(mailbox.statusCode, mailbox.body).toBe(201);
    const res = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${mailbox.json().id as string}/diagnose`, headers: t.auth });
    expect(res.statusCode, res.body).toBe(200);
    const steps = (res.json() as { steps: { step: string; ok: boolean; code?: string }[] }).steps;
    expect(steps[0]).toMatchObject({ step: 'token', ok: false, code: 'identity_platform_bad_response' });
    expect(steps.slice(1).every((s) => !s.ok)).toBe(true);
  });
});

describe('the network client alone, with short timeouts', () => {
  it('ends a dripping body at the deadline of the whole exchange', async () => {
    fx.identity.injectTokenAnswer({ kind: 'drip', intervalMs: 100, clientId: 'drip-direct' });
    const client = createMsalNetworkClient({ caPem: [fx.pki.caCertPem], timeoutMs: 500 });
    const started = Date.now();
    try {
      const err = await client.sendPostRequestAsync(`${fx.identity.url}/${TENANT_A}/oauth2/v2.0/token`, {
        body: 'client_id=drip-direct&grant_type=client_credentials',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(MsalHttpError);
      expect((err as MsalHttpError).kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(exchangeDeadlineMs(500) + 1_000);
    } finally {
      await client.close();
    }
  });
});
