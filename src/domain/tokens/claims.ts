/**
 * What an access token grants, read from its claims: app-only tokens carry
 * `roles`, delegated ones `scp`. The token's signature is Microsoft's
 * business (Exchange verifies it); we only read what it says it grants, to
 * tell the user which permission is missing before IMAP or SMTP refuses.
 */
import { AppError } from '../../errors/errors.js';

export const APP_ONLY_SCOPE = 'https://outlook.office365.com/.default';
export const DELEGATED_SCOPES = [
  'https://outlook.office.com/IMAP.AccessAsUser.All',
  'https://outlook.office.com/SMTP.Send',
  'offline_access',
];
export const SIGN_IN_SCOPES = ['openid', 'profile', 'email'];

export type Capability = 'imap' | 'smtp';

const APP_ROLE: Record<Capability, string> = { imap: 'IMAP.AccessAsApp', smtp: 'SMTP.SendAsApp' };
const USER_SCOPE: Record<Capability, string> = { imap: 'IMAP.AccessAsUser.All', smtp: 'SMTP.Send' };

export interface TokenClaims {
  roles: string[];
  scopes: string[];
  tenantId: string | undefined;
  upn: string | undefined;
  expiresAt: Date | undefined;
}

export function readClaims(accessToken: string): TokenClaims {
  const payload = accessToken.split('.')[1];
  let claims: Record<string, unknown> = {};
  try {
    claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    claims = {};
  }
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
  const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
  const upn = typeof claims.upn === 'string' ? claims.upn : typeof claims.preferred_username === 'string' ? claims.preferred_username : undefined;
  return {
    roles,
    scopes,
    tenantId: typeof claims.tid === 'string' ? claims.tid : undefined,
    upn,
    expiresAt: typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined,
  };
}

/** The permission a token lacks for a capability, as an error with the setup step that grants it. */
export function missingPermission(flow: 'app_only' | 'delegated', claims: TokenClaims, capability: Capability): AppError | undefined {
  if (flow === 'app_only') {
    const role = APP_ROLE[capability];
    if (claims.roles.includes(role)) return undefined;
    return new AppError('missing_permission', `The app-only token has no ${role} role.`, {
      hint: `In API permissions, add Office 365 Exchange Online → Application permissions → ${role}, then Grant admin consent.`,
      step: 'api_permissions',
      fields: { permission: role },
    });
  }
  const scope = USER_SCOPE[capability];
  if (claims.scopes.includes(scope)) return undefined;
  return new AppError('missing_permission', `The delegated token has no ${scope} scope.`, {
    hint: `Add the delegated permission ${scope} (Office 365 Exchange Online), grant consent, then renew the mailbox's sign-in.`,
    step: 'api_permissions',
    fields: { permission: scope },
  });
}
