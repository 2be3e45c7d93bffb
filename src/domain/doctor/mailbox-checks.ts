/**
 * The doctor's checks of one mailbox, each as the mailbox's own service
 * will later do it: the token it would use, what the token grants, the IMAP
 * login and the folders it would poll, and SMTP AUTH for sending. Each check
 * resolves with a detail for the report or throws an AppError with the hint.
 */
import type { ImapSessionOptions } from '../../adapters/imap/session.js';
import type { SmtpVerifyOptions } from '../../adapters/smtp/verify.js';
import { AppError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import { isSpecialUse, resolveFolder } from '../mailboxes/folders.js';
import type { MailboxRecord } from '../mailboxes/service.js';
import { mailLogin } from '../mailboxes/mail-login.js';
import { missingPermission, type Capability, type TokenClaims } from '../tokens/claims.js';
import type { MailboxTokens } from '../mailboxes/mailbox-tokens.js';
import type { AccessToken } from '../tokens/token-service.js';
import type { DoctorImapSession } from './ports.js';

export type MailboxTokenSource = Pick<MailboxTokens, 'tokenFor'>;

const CAPABILITIES: Capability[] = ['imap', 'smtp'];
/** Folders named in a "not found" detail, at most. */
const LISTED_IN_DETAIL = 15;

/**
 * The token the mailbox's polling and sending would use, acquired now
 * (`forceRefresh`): a fresh client-credentials token (app-only), or a refresh
 * with the stored refresh token (delegated), so a revoked or expired sign-in
 * shows here. MailboxTokens records a failure on the mailbox, as polling's
 * would be. A delegated mailbox never signed in is answered here, without
 * asking: its only fix is the first sign-in.
 */
export async function acquireToken(tokens: MailboxTokenSource, mailbox: MailboxRecord): Promise<AccessToken> {
  if (mailbox.flow === 'delegated' && !mailbox.account) {
    throw new AppError('not_authorized', `Mailbox ${mailbox.email} has never been signed in.`, {
      hint:
        `Set up the OAuth connection: POST /v1/mailboxes/${mailbox.id}/authorize and open the authorizeUrl ` +
        `in a private browser window, signed in as ${mailbox.email}.`,
      step: 'user_sign_in',
    });
  }
  return tokens.tokenFor(mailbox.id, { forceRefresh: true });
}

export function describeToken(mailbox: MailboxRecord, token: AccessToken): string {
  const expires = token.expiresAt.toISOString();
  if (mailbox.flow === 'app_only') return `App-only token acquired for the connection (expires ${expires}).`;
  return `Delegated token acquired for ${token.claims.upn ?? mailbox.email} (expires ${expires}).`;
}

/** The roles (app-only) or scopes (delegated) IMAP and SMTP need, read from the token. */
export function checkPermissions(flow: MailboxRecord['flow'], claims: TokenClaims): string {
  const missing = CAPABILITIES.map((capability) => missingPermission(flow, claims, capability)).filter((e) => e !== undefined);
  const [first] = missing;
  if (!first) {
    return flow === 'app_only' ? `The token has the roles ${claims.roles.join(', ')}.` : `The token has the scopes ${claims.scopes.join(' ')}.`;
  }
  if (missing.length === 1) throw first;
  const names = missing.map((e) => String(e.fields.permission)).join(' and ');
  throw new AppError('missing_permission', missing.map((e) => e.detail).join(' '), {
    hint: flow === 'app_only'
      ? `In API permissions, add Office 365 Exchange Online → Application permissions → ${names}, then Grant admin consent.`
      : `Add the delegated permissions ${names} (Office 365 Exchange Online), grant consent, then renew the mailbox's sign-in.`,
    step: 'api_permissions',
    fields: { permission: names },
  });
}

export interface ServerContext {
  mailbox: MailboxRecord;
  token: AccessToken;
  ca: readonly string[];
  logger: Logger;
}

const loginOf = (ctx: ServerContext) => mailLogin(ctx.mailbox, ctx.token.accessToken, ctx.ca, ctx.logger.child({ mailboxId: ctx.mailbox.id }));

export function imapOptions(ctx: ServerContext, timeouts: ImapSessionOptions['timeouts']): ImapSessionOptions {
  return { ...ctx.mailbox.imap, ...loginOf(ctx), timeouts };
}

export async function checkImapLogin(session: DoctorImapSession, mailbox: MailboxRecord): Promise<string> {
  await session.connect();
  return `Logged in to ${mailbox.imap.host}:${mailbox.imap.port} as ${mailbox.email} with XOAUTH2.`;
}

/** LIST, then STATUS of each configured folder; a special use is resolved through the LIST. */
export async function checkImapFolders(session: DoctorImapSession, mailbox: MailboxRecord): Promise<string> {
  const listed = await session.listFolders();
  const found: string[] = [];
  const missing: string[] = [];
  for (const wanted of mailbox.folders) {
    const folder = resolveFolder(listed, wanted);
    if (!folder) {
      missing.push(isSpecialUse(wanted) ? `${wanted} (no folder has this special use)` : wanted);
      continue;
    }
    const status = await session.status(folder.path);
    const name = folder.path === wanted ? wanted : `${wanted} → ${folder.path}`;
    found.push(`${name}: ${status.messages} messages (UIDVALIDITY ${status.uidValidity}, UIDNEXT ${status.uidNext})`);
  }
  if (missing.length > 0) {
    const paths = listed.slice(0, LISTED_IN_DETAIL).map((f) => (f.specialUse ? `${f.path} ${f.specialUse}` : f.path));
    const more = listed.length > LISTED_IN_DETAIL ? ', …' : '';
    throw new AppError('imap_folder_not_found', `Not found: ${missing.join(', ')}. The server lists ${paths.join(', ')}${more}.${found.length ? ` Found: ${found.join('; ')}.` : ''}`, {
      hint: `Change the mailbox's folders (PATCH /v1/mailboxes/${mailbox.id}) to names the server lists, or to a special use such as \\Sent.`,
    });
  }
  return `${found.join('; ')}.`;
}

export function smtpOptions(ctx: ServerContext, timeouts: SmtpVerifyOptions['timeouts']): SmtpVerifyOptions {
  return { ...ctx.mailbox.smtp, ...loginOf(ctx), timeouts };
}

export function describeSmtp(mailbox: MailboxRecord): string {
  const tls = mailbox.smtp.secure ? 'implicit TLS' : 'STARTTLS';
  return `Authenticated to ${mailbox.smtp.host}:${mailbox.smtp.port} as ${mailbox.email} with XOAUTH2 (${tls}).`;
}
