/**
 * imapflow's failures (shapes as imapflow 2 builds them, texts as Exchange
 * answers, microsoft-facts.md) translated into typed errors with hints.
 */
import { describe, expect, it } from 'vitest';
import { translateImapError, type ImapErrorContext } from '../../src/adapters/imap/errors.js';
import { classify } from '../../src/errors/classify.js';
import { AppError } from '../../src/errors/errors.js';

const ctx: ImapErrorContext = { host: 'outlook.office365.com', port: 993, user: 'support@contoso.example', flow: 'app_only', operation: 'login' };

/** A tagged NO/BAD as imapflow rejects a command with it. */
function commandFailed(status: 'NO' | 'BAD', text: string, extra: object = {}) {
  return Object.assign(new Error('Command failed'), {
    responseStatus: status, responseText: text, response: `2 ${status} ${text}`, executedCommand: '2 AUTHENTICATE XOAUTH2 "(* value hidden *)"', ...extra,
  });
}

function nodeError(code: string, message = code) {
  return Object.assign(new Error(message), { code });
}

describe('translateImapError', () => {
  it("Exchange's generic NO AUTHENTICATE failed. → imap_auth_failed, app-only hint: service principal and mailbox permission", () => {
    const err = translateImapError(commandFailed('NO', 'AUTHENTICATE failed.', { authenticationFailed: true }), ctx);
    expect(err).toMatchObject({ code: 'imap_auth_failed', step: 'service_principal' });
    expect(err.detail).toContain('AUTHENTICATE failed.');
    expect(err.hint).toContain('New-ServicePrincipal -AppId <client id> -ObjectId <object id of the Enterprise application>');
    expect(err.hint).toContain('Add-MailboxPermission');
    expect(err.hint).toContain('FullAccess');
    expect(classify(err)).toMatchObject({ status: 422, retryable: false });
  });

  it('delegated: the hint renews the sign-in', () => {
    const err = translateImapError(commandFailed('NO', 'AUTHENTICATE failed.', { authenticationFailed: true }), { ...ctx, flow: 'delegated' });
    expect(err).toMatchObject({ code: 'imap_auth_failed', step: 'user_sign_in' });
    expect(err.hint).toMatch(/Renew the OAuth connection/);
  });

  it('Dovecot\'s wording (the sandbox) is the same failure', () => {
    const dovecot = commandFailed('NO', 'Authentication failed.', { authenticationFailed: true, serverResponseCode: 'AUTHENTICATIONFAILED' });
    expect(translateImapError(dovecot, ctx).code).toBe('imap_auth_failed');
  });

  it('BAD User is authenticated but not connected → imap_not_connected: mailbox permission, or throttling', () => {
    const err = translateImapError(commandFailed('BAD', 'User is authenticated but not connected.'), { ...ctx, operation: 'LIST' });
    expect(err).toMatchObject({ code: 'imap_not_connected', step: 'mailbox_permission' });
    expect(err.hint).toContain('Add-MailboxPermission');
    expect(err.hint).toMatch(/throttling/);
    expect(classify(err).retryable).toBe(true);
  });

  it('ETHROTTLE → imap_throttled with retryAfterMs from throttleReset', () => {
    const throttled = commandFailed('BAD', 'Request is throttled. Suggested Backoff Time: 299961 milliseconds', { code: 'ETHROTTLE', throttleReset: 299961, throttleWaited: 30000 });
    const err = translateImapError(throttled, ctx);
    expect(err).toMatchObject({ code: 'imap_throttled', fields: { retryAfterMs: 299961 } });
    expect(classify(err)).toMatchObject({ status: 503, retryable: true });
    // The text alone (a NO, which imapflow does not mark ETHROTTLE) says the same.
    expect(translateImapError(commandFailed('NO', 'Request is throttled. Suggested Backoff Time: 92415 milliseconds'), ctx))
      .toMatchObject({ code: 'imap_throttled', fields: { retryAfterMs: 92415 } });
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'ETIMEOUT', 'NoConnection', 'EConnectionClosed'])(
    '%s → imap_unreachable (network step)',
    (code) => {
      const err = translateImapError(nodeError(code), ctx);
      expect(err).toMatchObject({ code: 'imap_unreachable', step: 'network' });
      expect(err.detail).toContain(code);
      expect(classify(err).retryable).toBe(true);
    },
  );

  it('TLS failures → imap_tls_error; a port without implicit TLS says so', () => {
    expect(translateImapError(nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), ctx))
      .toMatchObject({ code: 'imap_tls_error', step: 'network' });
    expect(translateImapError(nodeError('ERR_SSL_WRONG_VERSION_NUMBER'), ctx).hint).toMatch(/port 993/);
    expect(translateImapError(Object.assign(new Error('x'), { tlsFailed: true, code: 'ERR_TLS_HANDSHAKE_TIMEOUT' }), ctx).code).toBe('imap_tls_error');
  });

  it('a folder that does not exist → imap_folder_not_found', () => {
    const missing = Object.assign(commandFailed('NO', "Mailbox doesn't exist: Nope"), { code: 'NotFound', path: 'Nope' });
    const err = translateImapError(missing, { ...ctx, operation: 'STATUS Nope' });
    expect(err.code).toBe('imap_folder_not_found');
    expect(err.detail).toContain('"Nope"');
  });

  it('anything else → imap_error with the server\'s words, never a token', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJvdXRsb29rIn0.c2lnbmF0dXJl';
    const err = translateImapError(commandFailed('NO', `Something odd auth=Bearer ${jwt}`), ctx);
    expect(err.code).toBe('imap_error');
    expect(err.detail).not.toContain(jwt);
    expect(translateImapError('boom', ctx).code).toBe('imap_error');
  });

  it('passes an AppError through', () => {
    const original = new AppError('imap_unreachable', 'x');
    expect(translateImapError(original, ctx)).toBe(original);
  });
});
