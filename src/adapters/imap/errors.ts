/**
 * What imapflow throws, as the service's typed errors with the setup guide's
 * hint. Pure: it reads the fields imapflow 2 sets (`authenticationFailed`,
 * `code`, `responseStatus`, `responseText`, `throttleReset`) and Node's socket
 * and TLS codes that imapflow passes through unchanged.
 *
 * Exchange explains none of its refusals (microsoft-facts.md): a missing
 * service principal or mailbox permission shows up only as the generic
 * `NO AUTHENTICATE failed.`, so the hint names every step that can cause it.
 */
import { AppError } from '../../errors/errors.js';
import { scrubText } from '../../logging/redaction.js';
import { SHARED_ACCESS_CODE, sharedAccessHint } from '../shared-mailbox.js';

export interface ImapErrorContext {
  host: string;
  port: number;
  /** The mailbox address sent as the SASL user. */
  user: string;
  /** Words the hints for the connection's flow; both flows' hints when unknown. */
  flow?: 'app_only' | 'delegated' | undefined;
  /** A delegated shared mailbox: the agent whose token was sent for `user`. */
  signInAs?: string | undefined;
  /** What was being done, for the detail: `login`, `STATUS INBOX`, … */
  operation?: string | undefined;
}

interface ImapFailureFields {
  code?: unknown;
  authenticationFailed?: unknown;
  tlsFailed?: unknown;
  responseStatus?: unknown;
  responseText?: unknown;
  response?: unknown;
  throttleReset?: unknown;
  mailboxMissing?: unknown;
  path?: unknown;
  message?: unknown;
  /** The response code of a NO or BAD (`OVERQUOTA`, `NOPERM`, `LIMIT`…, RFC 5530), as imapflow reads it. */
  serverResponseCode?: unknown;
}

/** Node/OpenSSL certificate and handshake failures (the codes the MSAL network client also names TLS). */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO',
]);

/** The server could not be reached or went away: DNS, TCP, imapflow's own deadlines and closed-connection codes. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE',
  'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ETIMEOUT', 'NoConnection', 'EConnectionClosed',
  'ClosedAfterConnectText', 'ClosedAfterConnectTLS', 'ProxyError', 'EPROXY',
]);

/** imapflow's response limits (ImapResponseLimits) and parse failures: the server sent something no real mailbox sends. */
const OVERSIZED_CODES = new Set(['LiteralTooLarge', 'ResponseTooLarge', 'TooManyTokens', 'LineTooLarge']);

const NOT_CONNECTED = /User is authenticated but not connected/i;
/** Refusals by meaning: RFC 5530's response codes, or the words of servers that send none. */
const OVER_QUOTA = /\bquota\b|mailbox (is )?full/i;
const NO_PERMISSION = /access (is )?denied|permission denied|not allowed|insufficient (rights|permission)/i;
const THROTTLED = /Request is throttled/i;

export const IMAP_HINTS = {
  authApp:
    'Exchange refused the app-only login without saying why. Register the service principal in Exchange Online PowerShell: ' +
    'New-ServicePrincipal -AppId <client id> -ObjectId <object id of the Enterprise application> (the object id from "Managed application in local directory", ' +
    'not the app registration\'s), then give it the mailbox: Add-MailboxPermission -Identity <mailbox> -User <service principal id> -AccessRights FullAccess. ' +
    'Changes take up to tens of minutes to apply.',
  authDelegated:
    'Exchange refused the signed-in user\'s token for this mailbox. Renew the OAuth connection: POST /v1/mailboxes/{id}/authorize and sign in as the mailbox user in a private browser window.',
  notConnectedApp:
    'Exchange authenticated the app but could not open the mailbox. Check the mailbox permission: Add-MailboxPermission -Identity <mailbox> -User <service principal id> -AccessRights FullAccess. ' +
    'Exchange also answers this under throttling: if the permission is in place, retry in a few minutes.',
  notConnectedDelegated:
    'Exchange authenticated the user but could not open the mailbox: the signed-in user must be the mailbox (or have FullAccess to it). ' +
    'Exchange also answers this under throttling: retry in a few minutes.',
  throttled: 'Exchange throttles this mailbox: wait for the suggested back-off, and poll less often or with fewer concurrent connections.',
  unreachable:
    'Check the mailbox\'s IMAP host and port (Microsoft 365: outlook.office365.com:993 with implicit TLS) and that the service can reach it (DNS, firewall).',
  tls: 'The IMAP server\'s TLS certificate is not trusted: behind a TLS-inspecting proxy, add its CA with NODE_EXTRA_CA_CERTS; check the host name.',
  tlsMismatch: 'The port does not speak implicit TLS: use secure true with port 993, or secure false (STARTTLS) with port 143.',
  folder: 'Check the mailbox\'s folders: a name as IMAP lists it (INBOX, Archive/2024) or a special use (\\Sent, \\Junk, \\Archive).',
  overQuota:
    'The mailbox is full (its quota in Exchange Online: 50 or 100 GB by licence, Deleted Items and Recoverable Items included): ' +
    'empty Deleted Items, delete or archive mail, or raise the quota (Set-Mailbox -ProhibitSendReceiveQuota).',
  noPermission:
    'Exchange refused the change: the account mailsync signs in as may read but not change this mailbox or folder. ' +
    'Give it FullAccess (Add-MailboxPermission -AccessRights FullAccess), or for a folder of another mailbox the folder permission (Add-MailboxFolderPermission).',
  limit: 'The server refused the command as over one of its limits (too many messages or flags at once): act on fewer messages per request.',
} as const;

/** The server's words, scrubbed, without a final full stop (the detail adds its own). */
function text(value: unknown): string | undefined {
  const trimmed = typeof value === 'string' ? value.trim().replace(/\.+$/, '') : '';
  return trimmed === '' ? undefined : scrubText(trimmed);
}

function whichHint(flow: ImapErrorContext['flow'], app: string, delegated: string): string {
  if (flow === 'app_only') return app;
  if (flow === 'delegated') return delegated;
  return `App-only: ${app} Delegated: ${delegated}`;
}

function throttleMs(fields: ImapFailureFields, said: string | undefined): number | undefined {
  if (typeof fields.throttleReset === 'number' && Number.isFinite(fields.throttleReset)) return fields.throttleReset;
  const match = said?.match(/Backoff Time[:=\s]+(\d+)/i);
  return match ? Number(match[1]) : undefined;
}

export function translateImapError(err: unknown, ctx: ImapErrorContext): AppError {
  if (err instanceof AppError) return err;
  const fields: ImapFailureFields = err !== null && typeof err === 'object' ? (err as ImapFailureFields) : {};
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const said = text(fields.responseText) ?? text(fields.response);
  const where = `${ctx.host}:${ctx.port}`;
  const doing = ctx.operation ? ` (${ctx.operation})` : '';
  const status = typeof fields.responseStatus === 'string' ? `${fields.responseStatus} ` : '';
  const cause = err;

  // Throttling first: Microsoft 365 answers it with BAD, which imapflow does not count as a refusal.
  if (code === 'ETHROTTLE' || (said && THROTTLED.test(said))) {
    const retryAfterMs = throttleMs(fields, said);
    return new AppError('imap_throttled', `${where} throttled the mailbox ${ctx.user}${doing}: ${said ?? 'Request is throttled'}.`, {
      hint: IMAP_HINTS.throttled,
      fields: retryAfterMs === undefined ? {} : { retryAfterMs },
      cause,
    });
  }
  if (said && NOT_CONNECTED.test(said)) {
    return new AppError('imap_not_connected', `${where} answered "${status}${said}" for ${ctx.user}${doing}.`, {
      hint: whichHint(ctx.flow, IMAP_HINTS.notConnectedApp, IMAP_HINTS.notConnectedDelegated),
      step: ctx.flow === 'delegated' ? 'user_sign_in' : 'mailbox_permission',
      cause,
    });
  }
  if (fields.authenticationFailed === true && ctx.signInAs) {
    return new AppError(SHARED_ACCESS_CODE, `${where} refused the XOAUTH2 login of ${ctx.signInAs} to the shared mailbox ${ctx.user}: ${status}${said ?? 'authentication failed'}.`, {
      hint: sharedAccessHint(ctx.user, ctx.signInAs),
      step: 'mailbox_permission',
      cause,
    });
  }
  if (fields.authenticationFailed === true) {
    return new AppError('imap_auth_failed', `${where} refused the XOAUTH2 login of ${ctx.user}: ${status}${said ?? 'authentication failed'}.`, {
      hint: whichHint(ctx.flow, IMAP_HINTS.authApp, IMAP_HINTS.authDelegated),
      step: ctx.flow === 'delegated' ? 'user_sign_in' : 'service_principal',
      cause,
    });
  }
  if (code && (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || fields.tlsFailed === true)) {
    const mismatch = code === 'ERR_SSL_WRONG_VERSION_NUMBER';
    return new AppError('imap_tls_error', `TLS with ${where} failed (${code}).`, {
      hint: mismatch ? IMAP_HINTS.tlsMismatch : IMAP_HINTS.tls,
      step: 'network',
      cause,
    });
  }
  if (code && UNREACHABLE_CODES.has(code)) {
    return new AppError('imap_unreachable', `Cannot reach the IMAP server ${where}${doing} (${code}).`, {
      hint: IMAP_HINTS.unreachable,
      step: 'network',
      cause,
    });
  }
  if (code && OVERSIZED_CODES.has(code)) {
    return new AppError('imap_error', `${where} sent a response larger than the service accepts${doing} (${code}); the connection was dropped.`, {
      hint: 'Check the mailbox\'s IMAP host. A message with an enormous header does this: polling and GET …/messages get past it ' +
        '(they narrow the batch down and give that message by UID and size, envelopeTooLarge).',
      fields: { responseTooLarge: true }, // see isResponseTooLarge
      cause,
    });
  }
  const responseCode = typeof fields.serverResponseCode === 'string' ? fields.serverResponseCode.toUpperCase() : undefined;
  if (responseCode === 'OVERQUOTA' || (responseCode === undefined && said && OVER_QUOTA.test(said))) {
    return new AppError('imap_over_quota', `${where} refused${doing} for ${ctx.user}: the mailbox is over its quota (${status}${said ?? responseCode}).`, {
      hint: IMAP_HINTS.overQuota,
      cause,
    });
  }
  if (responseCode === 'NOPERM' || (responseCode === undefined && said && NO_PERMISSION.test(said))) {
    return new AppError('imap_permission_denied', `${where} refused${doing} for ${ctx.user}: no permission (${status}${said ?? responseCode}).`, {
      hint: IMAP_HINTS.noPermission,
      step: 'mailbox_permission',
      cause,
    });
  }
  if (responseCode === 'LIMIT') {
    return new AppError('imap_limit_exceeded', `${where} refused${doing} for ${ctx.user}: over a server limit (${status}${said ?? responseCode}).`, {
      hint: IMAP_HINTS.limit,
      cause,
    });
  }
  if (code === 'NotFound' || fields.mailboxMissing === true || responseCode === 'NONEXISTENT' || responseCode === 'TRYCREATE') {
    const folder = typeof fields.path === 'string' ? ` "${fields.path}"` : '';
    return new AppError('imap_folder_not_found', `${where} has no such folder${folder}${doing}: ${said ?? 'not found'}.`, {
      hint: IMAP_HINTS.folder,
      cause,
    });
  }
  const message = text(fields.message);
  const what = said ? `${status}${said}` : (code ?? message ?? 'unknown error');
  return new AppError('imap_error', `IMAP ${ctx.operation ?? 'command'} on ${where} failed: ${what}.`, { cause });
}
