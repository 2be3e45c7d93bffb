/**
 * What the light IMAP imitation checks of an `AUTHENTICATE XOAUTH2` before it opens a mailbox, as
 * Exchange Online does (and the sandbox Dovecot's oauth2 passdbs, dovecot-config.ts, do): a token
 * for the Exchange resource (signature, `aud`, expiry) carrying either the application role
 * `IMAP.AccessAsApp` (app-only: any mailbox, as a service principal with Full Access) or the
 * delegated scope `IMAP.AccessAsUser.All` for the very user named in `user=` (or a shared mailbox
 * that user has Full Access to). Exchange explains no failure (`NO AUTHENTICATE failed.`); `reason`
 * is for the sandbox's records only, and never holds the token.
 *
 * A verified token is remembered until it expires: one app-only token opens thousands of
 * mailboxes, and an RS256 verification per login would be most of the imitation's CPU at scale.
 */
import type { MailboxPermissions } from '../mailbox-permissions.js';
import type { SigningKey } from '../pki.js';
import { verifyExchangeToken } from '../tokens.js';

export const IMAP_APP_ROLE = 'IMAP.AccessAsApp';
export const IMAP_USER_SCOPE = 'IMAP.AccessAsUser.All';

export type ImapTokenCheck = { ok: true } | { ok: false; reason: string };

/** The user and bearer token of a SASL XOAUTH2 response: base64("user=" u "\x01auth=Bearer " t "\x01\x01"). */
export function parseXoauth2(response: string): { user: string; token: string } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(response)) return undefined;
  const fields = Buffer.from(response, 'base64').toString('utf8').split('\x01');
  const user = fields.find((f) => f.startsWith('user='))?.slice(5);
  const token = fields.find((f) => /^auth=Bearer /i.test(f))?.slice(12);
  return user && token ? { user, token } : undefined;
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return [];
}

/** Tokens remembered at most; past it the memory is cleared (a bench uses one or a few). */
const MAX_REMEMBERED = 1_000;

export class TokenChecker {
  private readonly verified = new Map<string, { claims: Record<string, unknown>; expiresAt: number }>();

  constructor(private readonly key: SigningKey, private readonly permissions?: Pick<MailboxPermissions, 'hasFullAccess'>) {}

  async check(user: string, token: string): Promise<ImapTokenCheck> {
    let known = this.verified.get(token);
    if (known && known.expiresAt <= Date.now()) {
      this.verified.delete(token);
      known = undefined;
    }
    if (!known) {
      try {
        const claims = { ...(await verifyExchangeToken(this.key, token)) } as Record<string, unknown>;
        known = { claims, expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : 0 };
      } catch (err) {
        return { ok: false, reason: `token rejected: ${(err as Error).name}` };
      }
      if (this.verified.size >= MAX_REMEMBERED) this.verified.clear();
      this.verified.set(token, known);
    }
    return this.allows(known.claims, user);
  }

  private allows(claims: Record<string, unknown>, user: string): ImapTokenCheck {
    const kind = claims.idtyp ?? (claims.scp === undefined ? 'app' : 'user');
    if (kind === 'app') {
      return stringList(claims.roles).includes(IMAP_APP_ROLE) ? { ok: true } : { ok: false, reason: `app token without the ${IMAP_APP_ROLE} role` };
    }
    // Entra writes short scope names (IMAP.AccessAsUser.All); accept the resource-qualified form too.
    if (!stringList(claims.scp).some((s) => s === IMAP_USER_SCOPE || s.endsWith(`/${IMAP_USER_SCOPE}`))) {
      return { ok: false, reason: `user token without the ${IMAP_USER_SCOPE} scope` };
    }
    const upn = typeof claims.upn === 'string' ? claims.upn : '';
    if (upn.toLowerCase() !== user.toLowerCase() && !this.permissions?.hasFullAccess(user, upn)) {
      return { ok: false, reason: 'user token of another user than user=, without Full Access to it' };
    }
    return { ok: true };
  }
}
