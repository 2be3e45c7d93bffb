/**
 * POST /v1/mailboxes/{id}/diagnose against the real sandbox: MSAL tokens from
 * the identity imitation, Dovecot's XOAUTH2 login and folders, the SMTP
 * imitation's AUTH, and Exchange's failures on demand. Logs are captured at
 * trace level, so imapflow's and nodemailer's own lines are checked too.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type SandboxDovecot } from '../../sandbox/dovecot.js';
import { SANDBOX_APP_ONLY, SANDBOX_DELEGATED, SANDBOX_TENANT, SANDBOX_USERS } from '../../sandbox/index.js';
import { freePort } from '../../sandbox/ports.js';
import { doctorMailServers } from '../../src/adapters/mail-ports.js';
import { diagnoseMailbox } from '../../src/domain/doctor/diagnose-mailbox.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';

type Step = { step: string; ok: boolean; detail: string; hint?: string; setupStep?: string; code?: string; durationMs: number };
type Report = { ok: boolean; mailboxId: string; steps: Step[] };

let appOnly: string;
/** Every response body, checked for tokens at the end. */
const bodies: string[] = [];

async function connection(flow: 'app_only' | 'delegated', app: { clientId: string; secret: string }): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: `${flow} ${app.clientId}`, flow, tenantId: SANDBOX_TENANT.id, clientId: app.clientId, clientSecret: app.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function mailbox(connectionId: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email: SANDBOX_USERS.support, ...sandbox.mailServers(), ...overrides },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function diagnose(mailboxId: string): Promise<Report> {
  const res = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${mailboxId}/diagnose`, headers: t.auth });
  bodies.push(res.body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Report;
}

function step(report: Report, name: string): Step {
  const found = report.steps.find((s) => s.step === name);
  if (!found) throw new Error(`no ${name} step in ${JSON.stringify(report)}`);
  return found;
}

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), LOG_LEVEL: 'trace' }), () => sandbox.redis);
beforeAll(async () => {
  appOnly = await connection('app_only', SANDBOX_APP_ONLY);
  await sandbox.dovecot.deliver(SANDBOX_USERS.support, 'From: a@x.example\r\nTo: support@contoso.example\r\nSubject: Hello\r\nMessage-ID: <d1@x.example>\r\n\r\nHi!\r\n');
});

afterEach(() => sandbox.smtp.reset());

describe('POST /v1/mailboxes/{id}/diagnose', () => {
  it('passes every step for a correctly set up app-only mailbox, resolving \\Sent through LIST', async () => {
    const id = await mailbox(appOnly, { folders: ['INBOX', '\\Sent'] });
    const report = await diagnose(id);
    expect(report.steps.map((s) => s.step)).toEqual(['token', 'permissions', 'imap_login', 'imap_folders', 'smtp_auth']);
    expect(report.steps.filter((s) => !s.ok)).toEqual([]);
    expect(report).toMatchObject({ ok: true, mailboxId: id });
    expect(step(report, 'permissions').detail).toContain('IMAP.AccessAsApp, SMTP.SendAsApp');
    expect(step(report, 'imap_folders').detail).toMatch(/INBOX: 1 messages .*; \\Sent → Sent Items: 0 messages/);
    expect(step(report, 'smtp_auth').detail).toContain('STARTTLS');
    for (const s of report.steps) expect(s.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('SMTP AUTH disabled: smtp_auth fails with the SMTP AUTH switch, IMAP stays ok', async () => {
    const id = await mailbox(await connection('app_only', SANDBOX_APP_ONLY));
    sandbox.smtp.setBehaviour({ authFailure: 'smtp_auth_disabled' });
    const report = await diagnose(id);
    expect(report.ok).toBe(false);
    expect(step(report, 'smtp_auth')).toMatchObject({ ok: false, code: 'smtp_auth_disabled', setupStep: 'smtp_auth' });
    expect(step(report, 'smtp_auth').hint).toContain('Turn off SMTP AUTH protocol for your organization');
    expect(step(report, 'smtp_auth').hint).toContain(`Set-CASMailbox -Identity ${SANDBOX_USERS.support}`);
    expect(step(report, 'imap_login').ok).toBe(true);
    expect(step(report, 'imap_folders').ok).toBe(true);
  });

  it('a missing role: the permissions step names SMTP.SendAsApp, and Exchange refuses SMTP', async () => {
    const imapOnly = { clientId: '0a1b2c3d-0000-4000-8000-0000000000f1', secret: 'Sbx8Q~imap-only-client-secret-value-f1' };
    sandbox.identity.addApp({
      clientId: imapOnly.clientId, homeTenantId: SANDBOX_TENANT.id,
      secrets: [{ id: '7f0e1d2c-0000-4000-8000-0000000000f1', value: imapOnly.secret }], appRoles: ['IMAP.AccessAsApp'],
    });
    const report = await diagnose(await mailbox(await connection('app_only', imapOnly)));
    expect(step(report, 'permissions')).toMatchObject({ ok: false, code: 'missing_permission', setupStep: 'api_permissions' });
    expect(step(report, 'permissions').detail).toContain('SMTP.SendAsApp');
    expect(step(report, 'permissions').detail).not.toContain('IMAP.AccessAsApp');
    expect(step(report, 'permissions').hint).toContain('Grant admin consent');
    // The later steps still ran: Exchange (the imitation) refuses SMTP with its generic 535 5.7.3.
    expect(step(report, 'smtp_auth')).toMatchObject({ ok: false, code: 'smtp_auth_failed', setupStep: 'service_principal' });
    expect(step(report, 'imap_login').ok).toBe(true);
  });

  describe('an IMAP server that refuses the token', () => {
    let refusing: SandboxDovecot;
    beforeAll(async () => {
      // A Dovecot that trusts tokens of another tenant only: a well-formed, correctly signed token
      // it does not accept, answered like Exchange answers a token of an app it has no service
      // principal for (a plain authentication failure, no reason given).
      refusing = await startDovecot({ pki: sandbox.pki, issuers: ['https://sts.windows.net/00000000-0000-4000-8000-0000000000ff/'] });
    });
    afterAll(async () => refusing?.stop());

    it('imap_login fails with imap_auth_failed and the service principal / mailbox permission hint', async () => {
      const id = await mailbox(await connection('app_only', SANDBOX_APP_ONLY), { imap: { host: refusing.host, port: refusing.port, secure: true } });
      const report = await diagnose(id);
      const login = step(report, 'imap_login');
      expect(login).toMatchObject({ ok: false, code: 'imap_auth_failed', setupStep: 'service_principal' });
      expect(login.hint).toContain('New-ServicePrincipal');
      expect(login.hint).toContain('Add-MailboxPermission');
      expect(step(report, 'imap_folders')).toMatchObject({ ok: false, detail: 'skipped: IMAP login failed' });
      expect(step(report, 'smtp_auth').ok).toBe(true);
    });
  });

  it('an IMAP port where nothing listens: imap_unreachable, fast, SMTP still checked', async () => {
    const port = await freePort();
    const id = await mailbox(await connection('app_only', SANDBOX_APP_ONLY), { imap: { host: '127.0.0.1', port, secure: true } });
    const report = await diagnose(id);
    const login = step(report, 'imap_login');
    expect(login).toMatchObject({ ok: false, code: 'imap_unreachable', setupStep: 'network' });
    expect(login.detail).toContain('ECONNREFUSED');
    expect(login.durationMs).toBeLessThan(2_000);
    expect(step(report, 'imap_folders').detail).toBe('skipped: IMAP login failed');
    expect(step(report, 'smtp_auth').ok).toBe(true);
  });

  it('an IMAP server that never greets: bounded by the step budget', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const id = await mailbox(await connection('app_only', SANDBOX_APP_ONLY), { imap: { host: '127.0.0.1', port, secure: false } });
      const deps = { mailboxes: t.deps.services.mailboxes, tokens: t.deps.services.mailboxTokens, trust: t.deps.trust, logger: t.deps.logger, servers: doctorMailServers };
      const started = Date.now();
      const report = await diagnoseMailbox({ ...deps, budgets: { imapLoginMs: 600 } }, id);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(step(report, 'imap_login')).toMatchObject({ ok: false, code: 'imap_unreachable' });
      expect(step(report, 'smtp_auth').ok).toBe(true);
    } finally {
      silent.close();
    }
  });

  it('a delegated mailbox never signed in: not_authorized with the set-up hint, later steps skipped', async () => {
    const id = await mailbox(await connection('delegated', SANDBOX_DELEGATED));
    const report = await diagnose(id);
    expect(step(report, 'token')).toMatchObject({ ok: false, code: 'not_authorized', setupStep: 'user_sign_in' });
    expect(step(report, 'token').hint).toContain('Set up the OAuth connection');
    expect(step(report, 'token').hint).toContain(`/v1/mailboxes/${id}/authorize`);
    for (const name of ['permissions', 'imap_login', 'imap_folders', 'smtp_auth']) {
      expect(step(report, name)).toMatchObject({ ok: false, detail: 'skipped: no token', durationMs: 0 });
    }
  });

  it('answers 404 for an unknown mailbox and 401 without the API key', async () => {
    const missing = await t.app.inject({ method: 'POST', url: '/v1/mailboxes/mbx_nope/diagnose', headers: t.auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
    expect((await t.app.inject({ method: 'POST', url: `/v1/mailboxes/mbx_nope/diagnose` })).statusCode).toBe(401);
  });

  it('no token in any response or log line, although imapflow and nodemailer logged at trace', async () => {
    const { accessToken } = await t.deps.services.tokens.appToken(appOnly);
    const logs = t.logs.text();
    const everything = `${bodies.join('\n')}\n${logs}`;
    expect(everything).not.toContain(accessToken);
    expect(everything).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]+/);
    expect(everything).not.toMatch(/auth=Bearer (?!\[REDACTED\])/);
    // XOAUTH2 payloads are base64 of "user=…": "dXNlcj0" starts every one of them.
    expect(everything).not.toContain('dXNlcj0');
    const records = t.logs.records();
    expect(records.some((r) => r.component === 'imap' && r.level === 10 && String(r.msg).includes('AUTHENTICATE'))).toBe(true);
    expect(records.some((r) => r.component === 'smtp' && r.level === 10)).toBe(true);
  });
});
