/**
 * The one decision about a failed SMTP exchange: which stable code it gets,
 * whether trying again later can succeed (transient) or a human must change
 * something first (permanent), and what to change. Pure and exported: the
 * doctor's SMTP AUTH check and sending both ask it.
 *
 * Input: what nodemailer 10 rejects with (`code`: EAUTH, EENVELOPE, EMESSAGE,
 * ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EPROTOCOL, …, `originalCode`
 * for the socket error underneath, `responseCode`, `response`, `command`,
 * `recipient` on a per-recipient error), or a bare Node socket error.
 *
 * The order of the rules matters, first match wins:
 *  1. Exchange's specific enhanced status codes (5.7.139, 5.7.3, 5.7.57,
 *     5.2.252 Send As, 5.2.2 mailbox full, 4.3.2 connections, 5.2.0 daily
 *     quota, 5.7.60) and size (552, 5.3.4), whatever the command.
 *  2. Rate limits (421 4.7.0 as the sandbox answers it, and texts reported in
 *     the wild), before any other 4xx.
 *  3. 421 (closing the channel) and every other 4xx outside RCPT TO: transient.
 *  4. A 4xx/5xx reply to RCPT TO: the recipient is refused, not the message
 *     (permanent for that recipient, even 452: the same envelope gets it again).
 *  5. STARTTLS refused: permanent (a token never crosses the wire in clear).
 *  6. 503 (bad sequence): the session's fault, transient. Other 5xx: permanent.
 *  7. No reply: TLS certificate problems are permanent (trust must be
 *     configured); network, DNS, timeouts and broken sessions are transient.
 */
import { SHARED_ACCESS_CODE, sharedAccessHint } from '../shared-mailbox.js';
import type { SetupStep } from '../../domain/setup/steps.js';
import type { ErrorCode } from '../../errors/codes.js';
import { AppError } from '../../errors/errors.js';
import { scrubText } from '../../logging/redaction.js';

export type SmtpFailureCode = Extract<ErrorCode, `smtp_${string}` | 'send_as_denied' | 'shared_mailbox_access_denied'>;

export interface SmtpFailure {
  code: SmtpFailureCode;
  /** Trying again later (a new connection, a fresh token) can succeed without anyone changing anything. */
  transient: boolean;
  detail: string;
  hint?: string;
  step?: SetupStep;
  /** The SMTP reply code (535, 421, …) when the server answered. */
  responseCode?: number;
  /** The enhanced status code in the reply (5.7.139), when there is one. */
  enhancedStatus?: string;
  /** The recipient a per-recipient refusal is about. */
  recipient?: string;
  /** A suggested wait before trying again, for throttling. */
  retryAfterMs?: number;
  /** A wait the caller must respect whatever its own throttle delay: the daily quota is not over in a minute. */
  holdMs?: number;
}

export interface SmtpFailureContext {
  /** Words the authentication hints for the connection's flow; both flows' when unknown. */
  flow?: 'app_only' | 'delegated' | undefined;
  /** The mailbox address, written into the PowerShell hints. */
  mailbox?: string | undefined;
  /** A delegated shared mailbox: the agent whose token was sent for `mailbox`. */
  signInAs?: string | undefined;
  /** The address the message is sent as (its From header), when it is not the mailbox: the Send As hint names it. */
  from?: string | undefined;
}

/** Exchange Online's submission limit is per minute (30 messages per mailbox): wait that long. */
export const SMTP_THROTTLE_RETRY_MS = 60_000;

/** A fourth concurrent connection is refused (432 4.3.2); one of the three frees up within seconds. */
export const SMTP_CONNECTIONS_RETRY_MS = 10_000;

/** The daily recipient quota (554 5.2.0 SubmissionQuotaExceeded) is a rolling 24 hours: look again in an hour. */
export const SMTP_QUOTA_RETRY_MS = 3_600_000;

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO',
]);

/**
 * Throttling texts. `421 4.7.0 Temporary server error` is what the sandbox answers when it
 * throttles; the others are reported in the wild for Exchange Online's submission limits
 * (per-minute rate, concurrent connections, daily recipient quota) and are unverified.
 */
const THROTTLE_TEXTS = [
  /^4\.7\.0 Temporary server error/i,
  /submission rate/i,
  /sender thread limit exceeded/i,
  /SubmissionQuotaExceeded/i,
  /throttl/i,
  /too many (connections|messages)/i,
];

type Nodemailerish = {
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  recipient?: unknown;
  message?: unknown;
};

function fieldsOf(err: unknown): Nodemailerish {
  return err !== null && typeof err === 'object' ? (err as Nodemailerish) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export const SMTP_HINTS = {
  authDisabled: (mailbox: string) =>
    'SMTP AUTH is turned off for the organisation or the mailbox. Exchange admin centre → Settings → Mail flow: uncheck ' +
    '"Turn off SMTP AUTH protocol for your organization", or enable it for this mailbox only: ' +
    `Set-CASMailbox -Identity ${mailbox} -SmtpClientAuthenticationDisabled $false (the per-mailbox setting wins). ` +
    'Security defaults in Entra ID also turn it off.',
  authBlocked:
    'A tenant policy refused the login: Entra ID security defaults or a Conditional Access policy blocks SMTP AUTH (legacy authentication) for this account. ' +
    'Exclude the account or the app from the policy, or turn off security defaults, then make sure SMTP AUTH is enabled.',
  authApp: (mailbox: string) =>
    'Exchange refused the app-only token without saying why. Check the SMTP.SendAsApp application permission (with admin consent), ' +
    'the service principal (New-ServicePrincipal -AppId <client id> -ObjectId <object id of the Enterprise application>) ' +
    `and the mailbox permission (Add-MailboxPermission -Identity ${mailbox} -User <service principal id> -AccessRights FullAccess). Changes take up to tens of minutes.`,
  authDelegated:
    'Exchange refused the signed-in user\'s token. Renew the OAuth connection (POST /v1/mailboxes/{id}/authorize, sign in as the mailbox user), and check the SMTP.Send delegated permission.',
  sendAs: (mailbox: string) =>
    `The account may not send as this sender. Send from ${mailbox} itself, or grant SendAs: Add-RecipientPermission -Identity <sender address> -Trustee <service principal id or user> -AccessRights SendAs.`,
  recipient: 'The server refused this recipient: check the address; a 452 means too many recipients in one message (Exchange: 500 by default).',
  tooLarge: 'The message exceeds the server\'s size limit (Exchange Online: 25 to 35 MB by default, set by the admin up to 150 MB). Send smaller attachments.',
  tls: 'The SMTP server\'s TLS certificate is not trusted: behind a TLS-inspecting proxy, add its CA with NODE_EXTRA_CA_CERTS; check the host name.',
  tlsMismatch: 'The port does not speak implicit TLS: use secure false (STARTTLS) with port 587, or secure true with port 465.',
  noStartTls: 'The server does not offer STARTTLS on this port: check the mailbox\'s SMTP host and port (Microsoft 365: smtp.office365.com:587, secure false).',
  unavailable: 'Check the mailbox\'s SMTP host and port (Microsoft 365: smtp.office365.com:587 with STARTTLS) and that the service can reach it; it is retried.',
  sendAsDenied: (mailbox: string, from: string) =>
    `${mailbox} may not send as ${from}. Grant Send As: Add-RecipientPermission -Identity ${from} -Trustee ${mailbox} -AccessRights SendAs. ` +
    'An app-only connection may instead add a mailbox for the shared address itself and send from it.',
  mailboxFull: (mailbox: string) =>
    `The mailbox ${mailbox} is over its storage quota, and Sent Items count: empty Deleted Items and old Sent Items, or raise the quota ` +
    `(Set-Mailbox -Identity ${mailbox} -ProhibitSendQuota …).`,
  quota: 'Exchange allows 10,000 recipients a day per mailbox (a rolling 24 hours): the message is retried in an hour; spread sending over several mailboxes for more.',
  connections: 'Exchange allows 3 concurrent SMTP connections per mailbox; another program (or another mailsync) holds them. It is retried; lower SEND_MAILBOX_CONNECTIONS if this repeats.',
  throttled: 'Exchange limits submission to 30 messages per minute per mailbox and 10,000 recipients per day: it is retried later.',
} as const;

function authHint(ctx: SmtpFailureContext, mailbox: string): { hint: string; step: SetupStep } {
  if (ctx.flow === 'delegated') return { hint: SMTP_HINTS.authDelegated, step: 'user_sign_in' };
  if (ctx.flow === 'app_only') return { hint: SMTP_HINTS.authApp(mailbox), step: 'service_principal' };
  return { hint: `App-only: ${SMTP_HINTS.authApp(mailbox)} Delegated: ${SMTP_HINTS.authDelegated}`, step: 'service_principal' };
}

export function classifySmtpFailure(err: unknown, ctx: SmtpFailureContext = {}): SmtpFailure {
  const f = fieldsOf(err);
  const mailbox = ctx.mailbox ?? '<mailbox>';
  const response = str(f.response);
  // nodemailer sets responseCode from the reply; a bare reply string is read the same way.
  const responseCode = typeof f.responseCode === 'number' ? f.responseCode : Number(response?.match(/^([2-5]\d\d)[ -]/)?.[1]) || undefined;
  const reply = response ? scrubText(response) : undefined;
  const textAfterCode = reply?.replace(/^\d{3}[ -]/, '') ?? '';
  const enhancedStatus = textAfterCode.match(/^([245]\.\d{1,3}\.\d{1,3})\b/)?.[1];
  const command = str(f.command);
  const recipient = str(f.recipient);
  const code = str(f.code);
  const underlying = str(f.originalCode) ?? code;
  const base = {
    ...(responseCode ? { responseCode } : {}),
    ...(enhancedStatus ? { enhancedStatus } : {}),
  };
  const said = reply ? `the server answered "${reply}"` : undefined;

  // 1. Exchange's specific enhanced codes.
  if (enhancedStatus === '5.7.139') {
    if (/SmtpClientAuthentication is disabled/i.test(textAfterCode)) {
      return { ...base, code: 'smtp_auth_disabled', transient: false, detail: `SMTP AUTH is disabled: ${said}.`, hint: SMTP_HINTS.authDisabled(mailbox), step: 'smtp_auth' };
    }
    return { ...base, code: 'smtp_auth_blocked', transient: false, detail: `SMTP AUTH was refused by policy: ${said}.`, hint: SMTP_HINTS.authBlocked, step: 'smtp_auth' };
  }
  // 5.7.3 is Exchange's generic AUTH refusal, 5.7.57 "client not authenticated"; any other 5xx
  // to AUTH (or a login nodemailer could not even start) counts the same. Permanent once a
  // fresh token was tried too (the sender retries once: Exchange answers 535 directly, so
  // nodemailer never renews a token by itself).
  if (enhancedStatus === '5.7.3' || enhancedStatus === '5.7.57' || (code === 'EAUTH' && (!responseCode || responseCode >= 500))) {
    if (ctx.signInAs) {
      return { ...base, code: SHARED_ACCESS_CODE, transient: false, detail: `SMTP AUTH XOAUTH2 of ${ctx.signInAs} to the shared mailbox ${mailbox} failed: ${said ?? 'authentication failed'}.`, hint: sharedAccessHint(mailbox, ctx.signInAs), step: 'mailbox_permission' };
    }
    return { ...base, code: 'smtp_auth_failed', transient: false, detail: `SMTP AUTH XOAUTH2 failed: ${said ?? scrubText(str(f.message) ?? 'authentication failed')}.`, ...authHint(ctx, mailbox) };
  }
  if (enhancedStatus === '5.2.252' || /SendAsDenied/i.test(textAfterCode)) {
    const from = ctx.from ?? textAfterCode.match(/not allowed to send as (\S+?);/i)?.[1] ?? '<from address>';
    return { ...base, code: 'send_as_denied', transient: false, detail: `Not allowed to send as ${from}: ${said}.`, hint: SMTP_HINTS.sendAsDenied(mailbox, from), step: 'send_as_permission' };
  }
  if (enhancedStatus === '5.2.2') {
    return { ...base, code: 'smtp_mailbox_full', transient: false, detail: `The sending mailbox is full: ${said}.`, hint: SMTP_HINTS.mailboxFull(mailbox) };
  }
  if (responseCode === 432 || /concurrent connections limit/i.test(textAfterCode)) {
    return { ...base, code: 'smtp_throttled', transient: true, detail: `Too many connections for this mailbox: ${said}.`, hint: SMTP_HINTS.connections, retryAfterMs: SMTP_CONNECTIONS_RETRY_MS };
  }
  if (/SubmissionQuotaExceeded/i.test(textAfterCode)) {
    return { ...base, code: 'smtp_throttled', transient: true, detail: `Daily submission quota reached: ${said}.`, hint: SMTP_HINTS.quota, retryAfterMs: SMTP_QUOTA_RETRY_MS, holdMs: SMTP_QUOTA_RETRY_MS };
  }
  if (enhancedStatus === '5.7.60') {
    return { ...base, code: 'smtp_send_as_denied', transient: false, detail: `Not allowed to send as this sender: ${said}.`, hint: SMTP_HINTS.sendAs(mailbox), step: 'mailbox_permission' };
  }
  if (responseCode === 552 || enhancedStatus === '5.3.4' || (code === 'EMESSAGE' && /size larger than allowed/i.test(str(f.message) ?? ''))) {
    return { ...base, code: 'smtp_message_too_large', transient: false, detail: `The message is too large: ${said ?? str(f.message)}.`, hint: SMTP_HINTS.tooLarge };
  }
  // 2. Rate limits.
  if (reply && THROTTLE_TEXTS.some((pattern) => pattern.test(textAfterCode))) {
    return { ...base, code: 'smtp_throttled', transient: true, detail: `Submission throttled: ${said}.`, hint: SMTP_HINTS.throttled, retryAfterMs: SMTP_THROTTLE_RETRY_MS };
  }
  // 3. The service is closing the channel, or any other temporary failure.
  if (responseCode === 421 || (responseCode && responseCode >= 400 && responseCode < 500 && command !== 'RCPT TO')) {
    return { ...base, code: 'smtp_unavailable', transient: true, detail: `Temporary SMTP failure: ${said}.`, hint: SMTP_HINTS.unavailable, step: 'network' };
  }
  // 4. One recipient refused (per-recipient errors carry `recipient`; "all recipients were rejected" does not).
  if (command === 'RCPT TO' && responseCode && responseCode >= 400) {
    const who = recipient ? `Recipient ${recipient} refused` : 'Every recipient was refused';
    return { ...base, code: 'smtp_recipient_rejected', transient: false, detail: `${who}: ${said}.`, hint: SMTP_HINTS.recipient, ...(recipient ? { recipient } : {}) };
  }
  // 5. The server does not do STARTTLS.
  if (command === 'STARTTLS' && responseCode) {
    return { ...base, code: 'smtp_tls_error', transient: false, detail: `The server refused STARTTLS: ${said}.`, hint: SMTP_HINTS.noStartTls, step: 'network' };
  }
  // 6. Other refusals. 503 (bad sequence) is a session problem, not the message's: retried.
  if (responseCode === 503) {
    return { ...base, code: 'smtp_unavailable', transient: true, detail: `SMTP session out of step: ${said}.`, hint: SMTP_HINTS.unavailable, step: 'network' };
  }
  if (responseCode && responseCode >= 500) {
    return { ...base, code: 'smtp_rejected', transient: false, detail: `The server refused the message: ${said}.` };
  }
  // 7. No reply: the connection itself.
  const certificate = code === 'ETLS' && /certificate|self[- ]signed|unable to verify/i.test(str(f.message) ?? '');
  if (certificate || (underlying && (TLS_CODES.has(underlying) || underlying.startsWith('ERR_SSL_') || underlying.startsWith('ERR_TLS_')))) {
    const mismatch = underlying === 'ERR_SSL_WRONG_VERSION_NUMBER';
    return { ...base, code: 'smtp_tls_error', transient: false, detail: `TLS with the SMTP server failed (${certificate ? scrubText(str(f.message) ?? 'ETLS') : underlying}).`, hint: mismatch ? SMTP_HINTS.tlsMismatch : SMTP_HINTS.tls, step: 'network' };
  }
  if (code === 'EENVELOPE' || code === 'EMESSAGE') {
    // Refused before the server was asked: no sender or recipients, an empty message.
    return { ...base, code: 'smtp_rejected', transient: false, detail: `The message cannot be sent: ${scrubText(str(f.message) ?? code)}.` };
  }
  const why = underlying ?? 'connection failed';
  return { ...base, code: 'smtp_unavailable', transient: true, detail: `Cannot complete the SMTP exchange (${why}).`, hint: SMTP_HINTS.unavailable, step: 'network' };
}

/** An AppError from a nodemailer failure, decided by classifySmtpFailure. */
export function smtpError(err: unknown, ctx: SmtpFailureContext): AppError {
  if (err instanceof AppError) return err;
  const failure = classifySmtpFailure(err, ctx);
  const fields: Record<string, unknown> = { transient: failure.transient };
  if (failure.responseCode !== undefined) fields.responseCode = failure.responseCode;
  if (failure.enhancedStatus !== undefined) fields.enhancedStatus = failure.enhancedStatus;
  if (failure.recipient !== undefined) fields.recipient = failure.recipient;
  if (failure.retryAfterMs !== undefined) fields.retryAfterMs = failure.retryAfterMs;
  if (failure.holdMs !== undefined) fields.holdMs = failure.holdMs;
  return new AppError(failure.code, failure.detail, { hint: failure.hint, step: failure.step, fields, cause: err });
}
