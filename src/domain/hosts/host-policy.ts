/**
 * Where a secret may go: a connection's client secret to its authority host,
 * a mailbox's access tokens to its IMAP and SMTP servers, each only to a host
 * on its list (AUTHORITY_HOST_ALLOWLIST, MAIL_HOST_ALLOWLIST). Checked when a
 * connection or a mailbox is created or changed (a 400 naming the field), and
 * again each time a secret is about to leave (host_not_allowed), so a list
 * tightened later also covers the records made before.
 */
import type { HostAllowlist } from '../../config/host-allowlist.js';
import { AppError, ValidationError } from '../../errors/errors.js';

const AUTHORITY_HINT = 'Use Microsoft\'s identity platform (https://login.microsoftonline.com), or add the host to AUTHORITY_HOST_ALLOWLIST.';
const MAIL_HINT = 'Use Exchange Online\'s servers (outlook.office365.com, smtp.office365.com), or add the host to MAIL_HOST_ALLOWLIST.';

/** A 400 for a connection being created with an authority host off the list. */
export function checkAuthorityHostInput(origin: string, allowlist: HostAllowlist): void {
  const host = new URL(origin).hostname;
  if (allowlist.allows(host)) return;
  throw new ValidationError(`authorityHost ${host} is not on AUTHORITY_HOST_ALLOWLIST.`, [
    { field: '/authorityHost', message: 'is not an allowed host (AUTHORITY_HOST_ALLOWLIST)' },
  ], AUTHORITY_HINT);
}

/** Refuses to hand out a connection's client secret for an authority host off the list. */
export function assertAuthorityHostAllowed(connection: { id: string; authorityHost: string }, allowlist: HostAllowlist): void {
  const host = new URL(connection.authorityHost).hostname;
  if (allowlist.allows(host)) return;
  throw new AppError('host_not_allowed', `Connection ${connection.id} uses the authority host ${host}, which is not on AUTHORITY_HOST_ALLOWLIST: its client secret is not sent there.`, {
    hint: AUTHORITY_HINT,
    fields: { host },
  });
}

type Servers = { imap?: { host: string } | undefined; smtp?: { host: string } | undefined };

/** A 400 for IMAP or SMTP overrides off the list. */
export function checkMailServersInput(input: Servers, allowlist: HostAllowlist): void {
  const problems = (['imap', 'smtp'] as const)
    .filter((kind) => input[kind] !== undefined && !allowlist.allows(input[kind]!.host))
    .map((kind) => ({ field: `/${kind}/host`, message: `${input[kind]!.host} is not an allowed host (MAIL_HOST_ALLOWLIST)` }));
  if (problems.length === 0) return;
  throw new ValidationError(`${problems.map((p) => p.message.split(' ')[0]).join(' and ')} not on MAIL_HOST_ALLOWLIST.`, problems, MAIL_HINT);
}

/** Refuses a token for a mailbox whose IMAP or SMTP server is off the list. */
export function assertMailServersAllowed(mailbox: { id: string; imap: { host: string }; smtp: { host: string } }, allowlist: HostAllowlist): void {
  const refused = [mailbox.imap.host, mailbox.smtp.host].filter((host) => !allowlist.allows(host));
  if (refused.length === 0) return;
  throw new AppError('host_not_allowed', `Mailbox ${mailbox.id} uses ${refused.join(' and ')}, not on MAIL_HOST_ALLOWLIST: no access token is sent there.`, {
    hint: MAIL_HINT,
    fields: { hosts: refused },
  });
}
