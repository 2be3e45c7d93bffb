/**
 * The access token for one mailbox, whatever its connection's flow: the
 * connection's app-only token, or the mailbox user's delegated token
 * (refreshed with the stored refresh token when it has expired). A failure
 * is recorded on the mailbox (see token-failure.ts) before it is rethrown,
 * so GET /v1/mailboxes/{id} tells the user what to fix. Sending, reading
 * mail and the doctor get their tokens here. No token is given for a mailbox
 * whose servers are off MAIL_HOST_ALLOWLIST.
 */
import type { AccessToken, TokenService } from '../tokens/token-service.js';
import type { MailboxService } from './service.js';
import { recordTokenFailure } from './token-failure.js';

export interface MailboxTokensDeps {
  mailboxes: Pick<MailboxService, 'get' | 'change' | 'assertServersAllowed'>;
  tokens: Pick<TokenService, 'appToken' | 'delegatedToken'>;
  now?: () => Date;
}

export class MailboxTokens {
  private readonly now: () => Date;

  constructor(private readonly deps: MailboxTokensDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** `forceRefresh`: skip cached access tokens (after Exchange refused one). */
  async tokenFor(mailboxId: string, options: { forceRefresh?: boolean } = {}): Promise<AccessToken> {
    const mailbox = await this.deps.mailboxes.get(mailboxId);
    try {
      this.deps.mailboxes.assertServersAllowed(mailbox);
      if (mailbox.flow === 'app_only') return await this.deps.tokens.appToken(mailbox.connectionId, { fresh: options.forceRefresh === true, tenantId: mailbox.tenantId });
      return await this.deps.tokens.delegatedToken(mailbox.connectionId, mailbox.id, mailbox.account ?? undefined, options);
    } catch (err) {
      // The caller needs the original failure more than news of a failed bookkeeping write.
      await recordTokenFailure(this.deps.mailboxes, mailbox.id, err, this.now()).catch(() => undefined);
      throw err;
    }
  }
}
