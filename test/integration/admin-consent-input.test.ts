/**
 * Admin consent against hostile input, without a browser (inject): a tenant that is no tenant in
 * the request; the link's redirect to Microsoft's v2.0 /adminconsent with the connection's app,
 * its scope and the callback; and answers that come back garbled or as errors: a 4xx page that
 * echoes nothing, and no tenant listed.
 */
import { describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { arrive, cookieHeaderFrom, expectPage } from '../support/oauth-browser.js';

const redis = useRedis();
const PUBLIC_URL = 'http://127.0.0.1:3999';
const t = useTestApp(() => ({ PUBLIC_URL }), () => redis);

async function connection(): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'isv', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: 'https://localhost:4443' },
  });
  return res.json().id as string;
}

/** Opens a fresh link: Microsoft's URL and the browser's cookie. */
async function open(id: string, tenant?: string): Promise<{ microsoft: URL; cookie: string }> {
  const link = await t.app.inject({ method: 'POST', url: `/v1/connections/${id}/admin-consent`, headers: t.auth, payload: tenant ? { tenant } : {} });
  expect(link.statusCode, link.body).toBe(200);
  const opened = await arrive(t, new URL(link.json().consentUrl));
  expect(opened.statusCode).toBe(302);
  return { microsoft: new URL(String(opened.headers.location)), cookie: cookieHeaderFrom(opened) };
}

describe('admin consent input', () => {
  it('refuses a tenant that is none, and an unknown connection', async () => {
    const id = await connection();
    for (const tenant of ['common', 'organizations', '<script>', ' contoso.example', 'x'.repeat(257), '']) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/connections/${id}/admin-consent`, headers: t.auth, payload: { tenant } });
      expect(res.statusCode, tenant).toBe(400);
      expect(res.body).not.toContain('<script>');
    }
    const extra = await t.app.inject({ method: 'POST', url: `/v1/connections/${id}/admin-consent`, headers: t.auth, payload: { tenant: 'fabrikam.example', scope: 'x' } });
    expect(extra.statusCode).toBe(400);
    const unknown = await t.app.inject({ method: 'POST', url: '/v1/connections/con_AAAAAAAAAAAAAAAAAAAAAA/admin-consent', headers: t.auth, payload: {} });
    expect(unknown.statusCode).toBe(404);
  });

  it("sends the browser to Microsoft's v2.0 admin consent page for the connection's app", async () => {
    const id = await connection();
    const { microsoft, cookie } = await open(id, 'fabrikam.example');
    expect(`${microsoft.origin}${microsoft.pathname}`).toBe('https://localhost:4443/fabrikam.example/v2.0/adminconsent');
    expect(Object.fromEntries(microsoft.searchParams)).toEqual({
      client_id: SANDBOX_APP_ONLY.clientId,
      scope: 'https://outlook.office365.com/.default',
      redirect_uri: `${PUBLIC_URL}/v1/oauth/callback`,
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(cookie).toMatch(/^mailsync_signin_[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}$/);
    // No tenant named: the connection's own.
    expect((await open(id)).microsoft.pathname).toBe(`/${SANDBOX_TENANT.id}/v2.0/adminconsent`);
  });

  it('answers garbled and refused answers with a page, listing nothing', async () => {
    const id = await connection();
    const answers: [string, number, string][] = [
      ['admin_consent=True&tenant=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 400, 'validation_failed'],
      ['admin_consent=False&tenant=0c0ffee0-0000-4000-8000-00000000fab1', 400, 'validation_failed'],
      ['admin_consent=True', 400, 'validation_failed'],
      ['error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent+%3Cscript%3E', 400, 'admin_consent_declined'],
      ['error=access_denied&error_description=AADSTS90094%3A+Admin+consent+is+required', 403, 'admin_consent_required'],
      ['error=access_denied&error_description=AADSTS90099%3A+not+authorized', 403, 'admin_consent_required'],
      ['error=server_error&error_description=AADSTS50000%3A+%3Cb%3Eboom%3C%2Fb%3E', 502, 'identity_platform_error'],
    ];
    for (const [query, status, code] of answers) {
      const { microsoft, cookie } = await open(id);
      const res = await arrive(t, new URL(`${PUBLIC_URL}/v1/oauth/callback?${query}&state=${microsoft.searchParams.get('state')}`), cookie);
      expectPage(res, status);
      expect(res.body, query).toContain(`Error code: ${code}`);
      expect(res.body).not.toMatch(/<script>|<b>|boom/);
    }
    const view = await t.app.inject({ method: 'GET', url: `/v1/connections/${id}`, headers: t.auth });
    expect(view.json().consentedTenants).toEqual([]);
  });
});
