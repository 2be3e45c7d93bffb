/**
 * Exchange's shared-mailbox login in the sandbox: an agent's delegated token
 * with the shared mailbox as the XOAUTH2 `user=` opens it over IMAP (through
 * the front in imap-proxy.ts) and passes SMTP AUTH only while the sandbox's
 * MailboxPermissions give the agent Full Access; otherwise Exchange's plain
 * refusals, which the service words as shared_mailbox_access_denied.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type SandboxDovecot } from '../../sandbox/dovecot.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import { MailboxPermissions } from '../../sandbox/mailbox-permissions.js';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { checkSmtpToken } from '../../sandbox/smtp/token-check.js';
import { mintUserToken } from '../../sandbox/tokens.js';
import { translateImapError } from '../../src/adapters/imap/errors.js';

const SHARED = 'helpdesk@contoso.test';
const AGENT = 'alice@contoso.test';
const OTHER = 'bob@contoso.test';

let dir: string;
let pki: SandboxPki;
let dovecot: SandboxDovecot;
let front: ImapProxy;
const permissions = new MailboxPermissions();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailsync-shared-'));
  pki = await loadOrCreatePki(dir);
  dovecot = await startDovecot({ pki });
  front = await startImapProxy({ pki, target: { host: '127.0.0.1', port: dovecot.plainPort }, sharedAccess: { key: pki.signingKey, permissions } });
});
afterAll(async () => {
  await front?.stop();
  await dovecot?.stop();
  await rm(dir, { recursive: true, force: true });
});

const userToken = (upn: string, scopes = ['IMAP.AccessAsUser.All', 'SMTP.Send']): Promise<string> =>
  mintUserToken(pki.signingKey, { tenantId: randomUUID(), clientId: randomUUID(), scopes, upn, oid: randomUUID() });

async function login(user: string, accessToken: string): Promise<unknown> {
  const imap = new ImapFlow({ host: '127.0.0.1', port: front.port, secure: true, auth: { user, accessToken }, tls: { ca: [pki.caCertPem] }, logger: false });
  imap.on('error', () => undefined);
  try {
    await imap.connect();
    const status = await imap.status('INBOX', { messages: true });
    await imap.logout();
    return status;
  } catch (err) {
    imap.close();
    return err;
  }
}

describe('a shared mailbox worked by an agent', () => {
  it('opens over IMAP with the agent token only while the agent has Full Access', async () => {
    const token = await userToken(AGENT);
    const refused = await login(SHARED, token) as { authenticationFailed?: boolean };
    expect(refused.authenticationFailed).toBe(true);
    const translated = translateImapError(refused, { host: '127.0.0.1', port: front.port, user: SHARED, flow: 'delegated', signInAs: AGENT });
    expect(translated.code).toBe('shared_mailbox_access_denied');
    expect(translated.hint).toContain(`Add-MailboxPermission -Identity ${SHARED} -User ${AGENT} -AccessRights FullAccess -InheritanceType All`);
    expect(translated.step).toBe('mailbox_permission');

    permissions.setFullAccess('HelpDesk@contoso.test', AGENT, true);
    expect(await login(SHARED, token)).toMatchObject({ messages: 0 });
    // The agent's own mailbox still opens as itself; another user's token gains nothing.
    expect(await login(AGENT, token)).toMatchObject({ messages: 0 });
    expect(await login(SHARED, await userToken(OTHER))).toMatchObject({ authenticationFailed: true });
    // A forged token (signed by no trusted key) is not re-signed.
    const [h, b] = token.split('.');
    expect(await login(SHARED, `${h}.${b}.${Buffer.from('forged').toString('base64url')}`)).toMatchObject({ authenticationFailed: true });
    permissions.setFullAccess(SHARED, AGENT, false);
    expect(await login(SHARED, token)).toMatchObject({ authenticationFailed: true });
  });

  it('passes SMTP AUTH with the agent token only while the agent has Full Access', async () => {
    const token = await userToken(AGENT);
    expect(await checkSmtpToken(pki.signingKey, SHARED, token, permissions)).toMatchObject({ ok: false });
    permissions.setFullAccess(SHARED, AGENT, true);
    expect(await checkSmtpToken(pki.signingKey, SHARED, token, permissions)).toMatchObject({ ok: true, claims: { upn: AGENT } });
    expect(await checkSmtpToken(pki.signingKey, SHARED, await userToken(OTHER), permissions)).toMatchObject({ ok: false });
    expect(await checkSmtpToken(pki.signingKey, SHARED, await userToken(AGENT, ['IMAP.AccessAsUser.All']), permissions)).toMatchObject({ ok: false });
    permissions.setFullAccess(SHARED, AGENT, false);
  });
});
