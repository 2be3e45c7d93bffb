/**
 * The SMTP decision table: Exchange's reply texts (microsoft-facts.md and the
 * sandbox's replies.ts) in the error shapes nodemailer 10 rejects with.
 */
import { describe, expect, it } from 'vitest';
import { REPLIES } from '../../sandbox/smtp/replies.js';
import { classifySmtpFailure, SMTP_THROTTLE_RETRY_MS, smtpError, type SmtpFailureCode } from '../../src/adapters/smtp/failure.js';
import { policyOf } from '../../src/errors/classify.js';
import { ERROR_CODES } from '../../src/errors/codes.js';

const MAILBOX = 'support@contoso.example';
const line = (reply: { code: number; text: string }): string => `${reply.code} ${reply.text}`;

/** What nodemailer's _formatError builds from a server reply. */
function nodemailerError(code: string, response: string, command: string, message = 'Command failed', extra: object = {}) {
  const responseCode = Number(response.slice(0, 3));
  return Object.assign(new Error(`${message}: ${response}`), { code, response, responseCode, permanent: responseCode >= 500, command, ...extra });
}

/** What nodemailer rejects with when the socket fails (no reply). */
function socketError(code: string, originalCode?: string, message = 'socket failed') {
  return Object.assign(new Error(message), { code, ...(originalCode ? { originalCode } : {}), command: 'CONN' });
}

describe('classifySmtpFailure', () => {
  it('SmtpClientAuthentication disabled (5.7.139) → smtp_auth_disabled, permanent, with the SMTP AUTH switch', () => {
    const facts = '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.';
    expect(line(REPLIES.smtpAuthDisabled)).toBe(facts);
    const failure = classifySmtpFailure(nodemailerError('EAUTH', facts, 'AUTH XOAUTH2', 'Invalid login'), { mailbox: MAILBOX });
    expect(failure).toMatchObject({ code: 'smtp_auth_disabled', transient: false, step: 'smtp_auth', responseCode: 535, enhancedStatus: '5.7.139' });
    expect(failure.hint).toContain('Turn off SMTP AUTH protocol for your organization');
    expect(failure.hint).toContain(`Set-CASMailbox -Identity ${MAILBOX} -SmtpClientAuthenticationDisabled $false`);
    expect(failure.hint).toMatch(/Security defaults/);
    expect(failure.detail).toContain('SmtpClientAuthentication is disabled');
  });

  it('the other 5.7.139 text → smtp_auth_blocked (conditional access, security defaults), permanent', () => {
    const failure = classifySmtpFailure(nodemailerError('EAUTH', line(REPLIES.criteriaNotMet), 'AUTH XOAUTH2'));
    expect(failure).toMatchObject({ code: 'smtp_auth_blocked', transient: false, step: 'smtp_auth' });
    expect(failure.hint).toMatch(/Conditional Access/);
    expect(failure.hint).toMatch(/security defaults/);
  });

  it('535 5.7.3 → smtp_auth_failed, permanent, hint by flow', () => {
    const err = nodemailerError('EAUTH', line(REPLIES.authUnsuccessful), 'AUTH XOAUTH2', 'Invalid login');
    const app = classifySmtpFailure(err, { flow: 'app_only', mailbox: MAILBOX });
    expect(app).toMatchObject({ code: 'smtp_auth_failed', transient: false, step: 'service_principal', enhancedStatus: '5.7.3' });
    expect(app.hint).toContain('SMTP.SendAsApp');
    expect(app.hint).toContain('New-ServicePrincipal');
    expect(app.hint).toContain(`Add-MailboxPermission -Identity ${MAILBOX}`);
    const delegated = classifySmtpFailure(err, { flow: 'delegated' });
    expect(delegated).toMatchObject({ code: 'smtp_auth_failed', step: 'user_sign_in' });
    expect(delegated.hint).toMatch(/Renew the OAuth connection/);
    expect(classifySmtpFailure(err).hint).toMatch(/App-only: .* Delegated: /);
  });

  it('an AUTH nodemailer could not even start, or 5.7.57, is an auth failure too', () => {
    expect(classifySmtpFailure(Object.assign(new Error('Missing credentials for "XOAUTH2"'), { code: 'EAUTH', command: 'API' })).code).toBe('smtp_auth_failed');
    expect(classifySmtpFailure(nodemailerError('EENVELOPE', `530 ${REPLIES.authRequired}`, 'MAIL FROM')).code).toBe('smtp_auth_failed');
  });

  it('550 5.7.60 → smtp_send_as_denied with Add-RecipientPermission', () => {
    const failure = classifySmtpFailure(nodemailerError('EENVELOPE', line(REPLIES.sendAsDenied), 'MAIL FROM'), { mailbox: MAILBOX });
    expect(failure).toMatchObject({ code: 'smtp_send_as_denied', transient: false, step: 'mailbox_permission' });
    expect(failure.hint).toContain('Add-RecipientPermission');
    expect(failure.hint).toContain('SendAs');
  });

  it('554 5.2.252 SendAsDenied at the end of DATA → send_as_denied, permanent, naming the From address and the mailbox', () => {
    const reply = line(REPLIES.sendAsDeniedHeader(MAILBOX, 'sales@contoso.example'));
    expect(reply).toMatch(/^554 5\.2\.252 SendAsDenied; support@contoso\.example not allowed to send as sales@contoso\.example; /);
    const failure = classifySmtpFailure(nodemailerError('EMESSAGE', reply, 'DATA'), { mailbox: MAILBOX, from: 'sales@contoso.example' });
    expect(failure).toMatchObject({ code: 'send_as_denied', transient: false, step: 'send_as_permission', responseCode: 554, enhancedStatus: '5.2.252' });
    expect(failure.hint).toContain(`Add-RecipientPermission -Identity sales@contoso.example -Trustee ${MAILBOX} -AccessRights SendAs`);
    expect(failure.hint).toMatch(/app-only/i);
    // Without the context, the address comes from the reply itself.
    expect(classifySmtpFailure(nodemailerError('EMESSAGE', reply, 'DATA'), { mailbox: MAILBOX }).hint).toContain('-Identity sales@contoso.example ');
    expect(policyOf('send_as_denied').retryable).toBe(false);
  });

  it('432 4.3.2 (a fourth connection, to AUTH) → smtp_throttled, transient; 421 4.3.2 (shutting down) stays smtp_unavailable', () => {
    const reply = line(REPLIES.concurrentConnections);
    expect(reply).toBe('432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.');
    const failure = classifySmtpFailure(nodemailerError('EAUTH', reply, 'AUTH XOAUTH2', 'Invalid login'), { mailbox: MAILBOX });
    expect(failure).toMatchObject({ code: 'smtp_throttled', transient: true, responseCode: 432, enhancedStatus: '4.3.2' });
    expect(failure.retryAfterMs).toBeGreaterThan(0);
    expect(failure.hint).toContain('3 concurrent');
    expect(classifySmtpFailure(nodemailerError('EENVELOPE', line(REPLIES.shuttingDown), 'MAIL FROM')).code).toBe('smtp_unavailable');
  });

  it('554 5.2.0 SubmissionQuotaExceeded → smtp_throttled with an hour\'s hold and the daily quota hint', () => {
    const failure = classifySmtpFailure(nodemailerError('EMESSAGE', line(REPLIES.submissionQuotaExceeded), 'DATA'), { mailbox: MAILBOX });
    expect(failure).toMatchObject({ code: 'smtp_throttled', transient: true, responseCode: 554, holdMs: 3_600_000 });
    expect(failure.hint).toContain('10,000 recipients a day');
    expect(smtpError(nodemailerError('EMESSAGE', line(REPLIES.submissionQuotaExceeded), 'DATA'), {}).fields.holdMs).toBe(3_600_000);
  });

  it('554 5.2.2 mailbox full → smtp_mailbox_full, permanent, with what to empty', () => {
    const failure = classifySmtpFailure(nodemailerError('EMESSAGE', line(REPLIES.mailboxFull), 'DATA'), { mailbox: MAILBOX });
    expect(failure).toMatchObject({ code: 'smtp_mailbox_full', transient: false, responseCode: 554, enhancedStatus: '5.2.2' });
    expect(failure.hint).toContain('Sent Items');
    expect(failure.hint).toContain('Deleted Items');
  });

  it('throttling (421 4.7.0, at the greeting or MAIL FROM) → smtp_throttled, transient, with a wait', () => {
    const greeting = nodemailerError('EPROTOCOL', line(REPLIES.throttled), 'CONN', 'Invalid greeting');
    const mail = nodemailerError('EENVELOPE', line(REPLIES.throttled), 'MAIL FROM');
    for (const err of [greeting, mail]) {
      expect(classifySmtpFailure(err)).toMatchObject({ code: 'smtp_throttled', transient: true, retryAfterMs: SMTP_THROTTLE_RETRY_MS, responseCode: 421 });
    }
    // Reported in the wild (unverified): Exchange's submission limits.
    expect(classifySmtpFailure(nodemailerError('EENVELOPE', '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded', 'MAIL FROM')).code).toBe('smtp_throttled');
    expect(classifySmtpFailure(nodemailerError('EMESSAGE', '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message', 'DATA')))
      .toMatchObject({ code: 'smtp_throttled', transient: true });
  });

  it('421 closing the channel and other 4xx → smtp_unavailable, transient', () => {
    expect(classifySmtpFailure(nodemailerError('EENVELOPE', line(REPLIES.shuttingDown), 'MAIL FROM'))).toMatchObject({ code: 'smtp_unavailable', transient: true });
    expect(classifySmtpFailure(nodemailerError('EMESSAGE', '451 4.7.500 Server busy. Please try again later.', 'DATA'))).toMatchObject({ code: 'smtp_unavailable', transient: true });
    expect(classifySmtpFailure(nodemailerError('EAUTH', '454 4.7.0 Temporary authentication failure', 'AUTH XOAUTH2'))).toMatchObject({ code: 'smtp_unavailable', transient: true });
    expect(classifySmtpFailure(nodemailerError('EPROTOCOL', '503 5.5.1 Bad sequence of commands', 'MAIL FROM'))).toMatchObject({ code: 'smtp_unavailable', transient: true });
  });

  it('network, DNS, timeouts and broken sessions (no reply) → smtp_unavailable, transient', () => {
    const cases = [
      socketError('ESOCKET', 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
      socketError('EDNS', 'ENOTFOUND'),
      socketError('ETIMEDOUT', undefined, 'Greeting never received'),
      socketError('ECONNECTION', undefined, 'Connection closed unexpectedly'),
      socketError('EPROTOCOL', undefined, 'Server response exceeds maximum allowed size'),
      socketError('ETLS', undefined, 'Connection closed unexpectedly'),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('something else'),
      undefined,
    ];
    for (const err of cases) expect(classifySmtpFailure(err), String((err as Error | undefined)?.message)).toMatchObject({ code: 'smtp_unavailable', transient: true, step: 'network' });
  });

  it('per-recipient refusals (452, 550) → smtp_recipient_rejected, permanent for that recipient', () => {
    const notFound = nodemailerError('EENVELOPE', line(REPLIES.recipientNotFound('nobody@contoso.example')), 'RCPT TO', 'Recipient command failed', { recipient: 'nobody@contoso.example' });
    expect(classifySmtpFailure(notFound)).toMatchObject({ code: 'smtp_recipient_rejected', transient: false, recipient: 'nobody@contoso.example', responseCode: 550, enhancedStatus: '5.1.10' });
    const tooMany = nodemailerError('EENVELOPE', line(REPLIES.tooManyRecipients), 'RCPT TO', 'Recipient command failed', { recipient: 'x@example.org' });
    expect(classifySmtpFailure(tooMany)).toMatchObject({ code: 'smtp_recipient_rejected', transient: false, responseCode: 452 });
    const all = nodemailerError('EENVELOPE', line(REPLIES.recipientNotFound('a@x.example')), 'RCPT TO', "Can't send mail - all recipients were rejected");
    expect(classifySmtpFailure(all)).toMatchObject({ code: 'smtp_recipient_rejected', transient: false });
    expect(classifySmtpFailure(all).recipient).toBeUndefined();
  });

  it('552 and a size over the advertised limit → smtp_message_too_large', () => {
    expect(classifySmtpFailure(nodemailerError('EMESSAGE', line(REPLIES.messageTooBig), 'DATA', 'Message failed'))).toMatchObject({ code: 'smtp_message_too_large', transient: false });
    expect(classifySmtpFailure(nodemailerError('EENVELOPE', '552 5.3.4 Message size exceeds fixed limit', 'MAIL FROM')).code).toBe('smtp_message_too_large');
    expect(classifySmtpFailure(Object.assign(new Error('Message size larger than allowed 1000'), { code: 'EMESSAGE', command: 'MAIL FROM' })).code).toBe('smtp_message_too_large');
  });

  it('TLS: an untrusted certificate, or a port that does not speak TLS → smtp_tls_error, permanent', () => {
    expect(classifySmtpFailure(socketError('ESOCKET', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate')))
      .toMatchObject({ code: 'smtp_tls_error', transient: false, step: 'network' });
    expect(classifySmtpFailure(socketError('ESOCKET', 'ERR_SSL_WRONG_VERSION_NUMBER')).hint).toMatch(/secure false/);
    expect(classifySmtpFailure(nodemailerError('ETLS', '502 5.5.1 Unrecognized command', 'STARTTLS', 'Error upgrading connection with STARTTLS')))
      .toMatchObject({ code: 'smtp_tls_error', transient: false });
    expect(classifySmtpFailure(socketError('ETLS', undefined, 'Error initiating TLS - self-signed certificate in certificate chain')).code).toBe('smtp_tls_error');
  });

  it('other refusals → smtp_rejected, permanent', () => {
    expect(classifySmtpFailure(nodemailerError('EMESSAGE', '554 5.6.0 Message could not be parsed', 'DATA'))).toMatchObject({ code: 'smtp_rejected', transient: false });
    expect(classifySmtpFailure(Object.assign(new Error('No recipients defined'), { code: 'EENVELOPE', command: 'API' }))).toMatchObject({ code: 'smtp_rejected', transient: false });
  });

  it('reads a bare reply string when nodemailer gave no responseCode', () => {
    expect(classifySmtpFailure({ code: 'EAUTH', response: line(REPLIES.smtpAuthDisabled) }).code).toBe('smtp_auth_disabled');
  });

  it('agrees with classify() on transient vs permanent for every code it gives', () => {
    const seen = new Set<SmtpFailureCode>();
    const samples: unknown[] = [
      nodemailerError('EAUTH', line(REPLIES.smtpAuthDisabled), 'AUTH XOAUTH2'),
      nodemailerError('EAUTH', line(REPLIES.criteriaNotMet), 'AUTH XOAUTH2'),
      nodemailerError('EAUTH', line(REPLIES.authUnsuccessful), 'AUTH XOAUTH2'),
      nodemailerError('EENVELOPE', line(REPLIES.sendAsDenied), 'MAIL FROM'),
      nodemailerError('EENVELOPE', line(REPLIES.throttled), 'MAIL FROM'),
      nodemailerError('EENVELOPE', line(REPLIES.shuttingDown), 'MAIL FROM'),
      nodemailerError('EENVELOPE', line(REPLIES.tooManyRecipients), 'RCPT TO'),
      nodemailerError('EMESSAGE', line(REPLIES.messageTooBig), 'DATA'),
      nodemailerError('EMESSAGE', line(REPLIES.mailboxFull), 'DATA'),
      nodemailerError('EMESSAGE', line(REPLIES.sendAsDeniedHeader(MAILBOX, 'sales@contoso.example')), 'DATA'),
      nodemailerError('EAUTH', line(REPLIES.concurrentConnections), 'AUTH XOAUTH2'),
      nodemailerError('EMESSAGE', '554 5.6.0 Message could not be parsed', 'DATA'),
      socketError('ESOCKET', 'SELF_SIGNED_CERT_IN_CHAIN'),
      socketError('ESOCKET', 'ECONNREFUSED'),
    ];
    for (const sample of samples) {
      const failure = classifySmtpFailure(sample);
      seen.add(failure.code);
      expect(failure.transient, failure.code).toBe(policyOf(failure.code).retryable);
      expect(smtpError(sample, {})).toMatchObject({ code: failure.code, fields: { transient: failure.transient } });
    }
    // Every smtp_ code of codes.ts is reachable, and send_as_denied.
    expect([...seen].sort()).toEqual([...ERROR_CODES.filter((c) => c.startsWith('smtp_')), 'send_as_denied'].sort());
  });

  it('never repeats a token it finds in an error', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sifQ.c2lnbmF0dXJlLXZhbHVl';
    const err = Object.assign(new Error(`AUTH failed for user=x\x01auth=Bearer ${jwt}`), { code: 'EAUTH', command: 'AUTH XOAUTH2' });
    const failure = classifySmtpFailure(err);
    expect(JSON.stringify(failure)).not.toContain(jwt);
  });
});
