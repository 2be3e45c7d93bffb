/**
 * A multi-tenant app-only connection serving mailboxes of two customer
 * tenants against the sandbox: each mailbox polls (new mail → webhook) and
 * sends with its own tenant's token (the `tid` the SMTP imitation saw, the
 * token endpoint each tenant's requests went to), the token cache holds one
 * entry per tenant, a tenant that never consented answers AADSTS7000229 with
 * its code and hint, and the tenantId rules refuse what a connection cannot serve.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_TENANT } from '../../sandbox/index.js';
import { appPartition } from '../../src/domain/tokens/token-service.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { nextSecond, rawMail, waitUntil } from '../support/mail.js';

const MULTI = { clientId: '0a1b2c3d-0000-4000-8000-0000000000e1', secret: 'Sbx8Q~multi-tenant-app-only-secret-01' };
const FABRIKAM = { id: 'fab00000-0000-4000-8000-0000000000fb', domain: 'fabrikam.example' };
const NORTHWIND = { id: '0e000000-0000-4000-8000-00000000000e', domain: 'northwind.example' };

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50' }), () => sandbox.redis);
let connectionId: string;

beforeAll(async () => {
  sandbox.identity.addTenant({ id: FABRIKAM.id, domains: [FABRIKAM.domain] });
  sandbox.identity.addTenant({ id: NORTHWIND.id, domains: [NORTHWIND.domain] });
  // The vendor's app, consented by Contoso (its home) and by Fabrikam's admin; Northwind never consented.
  sandbox.identity.addApp({
    clientId: MULTI.clientId, homeTenantId: SANDBOX_TENANT.id, multiTenant: true,
    secrets: [{ id: 'multi', value: MULTI.secret }],
    appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'],
    consentedTenants: [SANDBOX_TENANT.id, FABRIKAM.id],
  });
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received', 'message.sent', 'message.failed', 'mailbox.error'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'vendor', flow: 'app_only', tenantId: 'organizations', clientId: MULTI.clientId, clientSecret: MULTI.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json()).toMatchObject({ tenantId: null, authority: `${sandbox.identity.url}/organizations` });
  connectionId = res.json().id;
});

async function addMailbox(payload: Record<string, unknown>) {
  return t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, pollIntervalSeconds: 1, ...sandbox.mailServers(), ...payload },
  });
}

async function mailbox(email: string, tenantId: string): Promise<string> {
  const res = await addMailbox({ email, tenantId });
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json()).toMatchObject({ tenantId, state: 'active', signInAs: null });
  return res.json().id;
}

async function view(id: string): Promise<Record<string, unknown> & { lastPollAt: string | null; state: string; lastError: { code: string; hint?: string; setupStep?: string } | null }> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const received = (mailboxId: string, subject: string) => sandbox.receiver.received.filter((d) => d.type === 'message.received'
  && (d.body as { data: { mailboxId: string; subject: string } }).data.mailboxId === mailboxId
  && (d.body as { data: { subject: string } }).data.subject === subject);

const tokenPosts = (tenant: string) => sandbox.identity.requests.filter((r) => r.method === 'POST' && r.path === `/${tenant}/oauth2/v2.0/token` && r.clientId === MULTI.clientId).length;

describe('a multi-tenant app-only connection', () => {
  it("polls and sends for mailboxes of two tenants, each with its own tenant's token, cached once per tenant", async () => {
    const contoso = 'desk@contoso.example';
    const fabrikam = 'desk@fabrikam.example';
    await nextSecond();
    const a = await mailbox(contoso, SANDBOX_TENANT.id);
    const b = await mailbox(fabrikam, FABRIKAM.domain);
    for (const id of [a, b]) await waitUntil('the baseline poll', async () => ((await view(id)).lastPollAt ? true : undefined));

    await sandbox.dovecot.deliver(contoso, rawMail(contoso, 'for contoso'));
    await sandbox.dovecot.deliver(fabrikam, rawMail(fabrikam, 'for fabrikam'));
    await waitUntil('both announcements', () => received(a, 'for contoso').length === 1 && received(b, 'for fabrikam').length === 1);

    for (const [id, to] of [[a, 'x@example.org'], [b, 'y@example.org']] as const) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId: id, to: [to], subject: `from ${id}`, text: 'hi' } });
      expect(res.statusCode, res.body).toBe(202);
    }
    const sent = await waitUntil('both messages at the SMTP server', () => {
      const both = [contoso, fabrikam].map((user) => sandbox.smtp.messages.find((m) => m.authUser === user));
      return both.every(Boolean) ? both : undefined;
    });
    // Each mailbox logged in with a token of its own tenant (Fabrikam's named by domain, its tid an id).
    expect(sent.map((m) => m?.tokenClaims.tid)).toEqual([SANDBOX_TENANT.id, FABRIKAM.id]);
    expect(sent.map((m) => m?.tokenClaims.appid)).toEqual([MULTI.clientId, MULTI.clientId]);
    // One token request per tenant, to that tenant's endpoint: polls and sends shared the cached tokens.
    expect(tokenPosts(SANDBOX_TENANT.id)).toBe(1);
    expect(tokenPosts(FABRIKAM.domain)).toBe(1);
    expect(tokenPosts('organizations')).toBe(0);

    const entries = await Promise.all([SANDBOX_TENANT.id, FABRIKAM.domain, NORTHWIND.id].map((tenantId) =>
      t.deps.redis.exists(t.deps.keys.tokenCache(appPartition({ authorityHost: sandbox.identity.url, tenantId, clientId: MULTI.clientId })))));
    expect(entries).toEqual([1, 1, 0]);
  });

  it('a tenant whose admin never consented gives service_principal_missing with its hint, on the mailbox and in verify', async () => {
    const id = await mailbox('desk@northwind.example', NORTHWIND.id);
    const failed = await waitUntil('the auth error', async () => {
      const v = await view(id);
      return v.state === 'auth_error' ? v : undefined;
    });
    expect(failed.lastError).toMatchObject({ code: 'service_principal_missing', setupStep: 'admin_consent', hint: expect.stringMatching(/adminconsent\?client_id=/) });

    const verify = await t.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/verify?tenant=${NORTHWIND.domain}`, headers: t.auth });
    expect(verify.statusCode, verify.body).toBe(200);
    expect(verify.json()).toMatchObject({
      ok: false, authority: `${sandbox.identity.url}/${NORTHWIND.domain}`,
      problems: [{ code: 'service_principal_missing', aadstsCode: 7000229, hint: expect.stringMatching(/admin/) }],
    });
    const good = await t.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/verify?tenant=${FABRIKAM.id}`, headers: t.auth });
    expect(good.json()).toMatchObject({ ok: true, roles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'], problems: [] });
    const none = await t.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/verify`, headers: t.auth });
    expect(none.json()).toMatchObject({ ok: false, problems: [{ code: 'tenant_required' }] });
  });

  it('refuses a mailbox without tenantId, a malformed one, and unknown verify parameters', async () => {
    const missing = await addMailbox({ email: 'nobody@fabrikam.example' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: '/body/tenantId' }] });
    for (const tenantId of ['organizations', 'common', ' fabrikam.example', '../../evil', 'x'.repeat(300)]) {
      const res = await addMailbox({ email: 'nobody@fabrikam.example', tenantId });
      expect(res.statusCode, tenantId).toBe(400);
    }
    for (const query of ['?tenant=', '?tenantId=x', '?tenant=a&other=b']) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/verify${query}`, headers: t.auth });
      expect(res.statusCode, query).toBe(400);
    }
  });
});

describe('a single-tenant app-only connection', () => {
  it("accepts its own tenant on a mailbox (any case) and refuses another's", async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'single', flow: 'app_only', tenantId: SANDBOX_TENANT.domain, clientId: MULTI.clientId, clientSecret: MULTI.secret, authorityHost: sandbox.identity.url },
    });
    expect(res.statusCode, res.body).toBe(201);
    const single = res.json().id as string;
    const own = await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: { connectionId: single, email: 'own@contoso.example', tenantId: 'Contoso.Example', ...sandbox.mailServers() } });
    expect(own.statusCode, own.body).toBe(201);
    expect(own.json().tenantId).toBe(SANDBOX_TENANT.domain);
    const other = await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: { connectionId: single, email: 'x@fabrikam.example', tenantId: FABRIKAM.id, ...sandbox.mailServers() } });
    expect(other.statusCode).toBe(400);
    expect(other.json()).toMatchObject({ errors: [{ field: '/body/tenantId' }], hint: expect.stringMatching(/multi-tenant/) });
    const verifyOther = await t.app.inject({ method: 'POST', url: `/v1/connections/${single}/verify?tenant=${FABRIKAM.id}`, headers: t.auth });
    expect(verifyOther.statusCode).toBe(400);
  });
});
