/**
 * What Exchange Online checks in an XOAUTH2 bearer token before it lets a client submit
 * mail: a valid token for the Exchange resource, and either the application role
 * `SMTP.SendAsApp` (app-only) or the delegated scope `SMTP.Send` for the very user named
 * in the SASL `user=` field, or a shared mailbox that user has Full Access to
 * (`permissions`: the user's token with the shared mailbox as `user=`). Exchange explains none of the failures (always `535 5.7.3`);
 * `reason` is for the sandbox's records only.
 */
import type { SigningKey } from '../pki.js';
import { verifyExchangeToken } from '../tokens.js';
import type { MailboxPermissions } from '../mailbox-permissions.js';

export type TokenCheck =
  | { ok: true; claims: Record<string, unknown> }
  | { ok: false; reason: string; claims?: Record<string, unknown> };

export const APP_ROLE = 'SMTP.SendAsApp';
export const USER_SCOPE = 'SMTP.Send';

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return [];
}

export async function checkSmtpToken(key: SigningKey, saslUser: string, token: string, permissions?: Pick<MailboxPermissions, 'hasFullAccess'>): Promise<TokenCheck> {
  let claims: Record<string, unknown>;
  try {
    claims = { ...(await verifyExchangeToken(key, token)) };
  } catch (err) {
    return { ok: false, reason: `token rejected: ${(err as Error).message}` };
  }
  // Entra marks the token kind with `idtyp`; fall back on which of roles/scp is present.
  const kind = claims.idtyp ?? (claims.scp === undefined ? 'app' : 'user');
  if (kind === 'app') {
    if (!stringList(claims.roles).includes(APP_ROLE)) {
      return { ok: false, reason: `app token without the ${APP_ROLE} role`, claims };
    }
    return { ok: true, claims };
  }
  if (!stringList(claims.scp).includes(USER_SCOPE)) {
    return { ok: false, reason: `user token without the ${USER_SCOPE} scope`, claims };
  }
  const upn = typeof claims.upn === 'string' ? claims.upn : '';
  if (upn.toLowerCase() !== saslUser.toLowerCase() && !permissions?.hasFullAccess(saslUser, upn)) {
    return { ok: false, reason: 'user token issued for another user than the SASL user, without Full Access to it', claims };
  }
  return { ok: true, claims };
}
