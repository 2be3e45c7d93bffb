/**
 * "Set up / Renew OAuth connection" for a delegated mailbox: the mailbox's
 * user signs in at Microsoft, and the service keeps the refresh token in the
 * mailbox's cache partition to read and send mail as that user.
 *
 * Start: a one-time `state`, a PKCE verifier (S256) and a nonce, stored
 * encrypted for ten minutes; the authorize URL asks for the IMAP and SMTP
 * scopes, hints the mailbox address and lets the user pick the account.
 *
 * Finish (from the callback, with the taken state record): the code is
 * redeemed into a *staging* cache partition, the ID token is verified, and
 * the account that signed in must be the mailbox's. Only then does the
 * staging partition replace the mailbox's partition. A wrong account's
 * tokens are dropped without touching the mailbox's current sign-in, so a
 * mistaken "Renew" in the wrong browser profile breaks nothing. "The
 * mailbox's account" is, once it has signed in, the same person (oid and
 * tid), not merely an account with a matching name (account-match.ts).
 */
import type { MsalGateway } from '../../adapters/msal/gateway.js';
import type { CachePartitionStore } from '../../adapters/msal/cache-plugin.js';
import type { IdTokenVerifier } from '../../adapters/oidc/id-token-verifier.js';
import { AppError, ConflictError, NotFoundError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { OneTimeStore } from '../../store/one-time-store.js';
import type { ConnectionService } from '../connections/service.js';
import { appCredentialsOf } from '../connections/credentials.js';
import { newEvent, type EventPublisher } from '../events/events.js';
import type { MailboxRecord, MailboxService } from '../mailboxes/service.js';
import { DELEGATED_SCOPES } from '../tokens/claims.js';
import { mailboxPartition, type TokenService } from '../tokens/token-service.js';
import { acceptedAccount } from './account-match.js';
import { startAuthorization } from './authorization-request.js';
import { newSecret } from './secrets.js';
import type { DelegatedState, StateRecord } from './state-record.js';

export interface DelegatedAuthorizationDeps {
  mailboxes: Pick<MailboxService, 'get' | 'markAuthorized'>;
  connections: Pick<ConnectionService, 'credentials'>;
  msal: Pick<MsalGateway, 'authCodeUrl' | 'redeemCode'>;
  tokens: Pick<TokenService, 'forget'>;
  cache: CachePartitionStore & { delete(partition: string): Promise<void> };
  states: OneTimeStore<StateRecord>;
  verifier: Pick<IdTokenVerifier, 'verify'>;
  /** Announces `mailbox.authorized`; without one, nothing is announced. */
  events?: EventPublisher;
  /** `${PUBLIC_URL}/v1/oauth/callback`, registered as a Web redirect URI. */
  redirectUri: string;
  logger: Logger;
  now?: () => Date;
}

export interface Authorized {
  mailbox: MailboxRecord;
  /** The account that signed in, as Microsoft names it. */
  account: string;
}

export class DelegatedAuthorization {
  private readonly now: () => Date;

  constructor(private readonly deps: DelegatedAuthorizationDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** POST /v1/mailboxes/{id}/authorize: a fresh sign-in URL; on an active mailbox this is "Renew". */
  async authorizeUrl(mailboxId: string): Promise<string> {
    return this.authorizeUrlFor(await this.deps.mailboxes.get(mailboxId));
  }

  async authorizeUrlFor(mailbox: MailboxRecord): Promise<string> {
    if (mailbox.flow !== 'delegated') {
      throw new ConflictError(
        `Mailbox ${mailbox.id} uses an app-only connection: it authenticates with the connection's client secret, not as a user, so there is nothing to sign in.`,
        'Only mailboxes of delegated connections need "Set up OAuth connection". App-only mailboxes need the Exchange service principal and Add-MailboxPermission instead.',
      );
    }
    const app = await appCredentialsOf(this.deps.connections, mailbox.connectionId);
    return startAuthorization({ ...this.deps, now: this.now }, app, {
      record: { flow: 'delegated', mailboxId: mailbox.id, connectionId: mailbox.connectionId },
      scopes: DELEGATED_SCOPES,
      loginHint: mailbox.signInAs ?? mailbox.email,
    });
  }

  /** Finishes the sign-in the state record belongs to (the callback took it already). */
  async complete(record: DelegatedState, code: string): Promise<Authorized> {
    const mailbox = await this.deps.mailboxes.get(record.mailboxId);
    const app = await appCredentialsOf(this.deps.connections, mailbox.connectionId);
    const { clientId } = app;
    const staging = `signin:${newSecret()}`;
    try {
      const result = await this.deps.msal.redeemCode(app, staging, {
        redirectUri: this.deps.redirectUri,
        scopes: DELEGATED_SCOPES,
        code,
        codeVerifier: record.verifier,
        nonce: record.nonce,
      });
      if (!result.idToken || !result.account) {
        throw new AppError('identity_platform_bad_response', 'The token response carries no ID token, so the account that signed in is unknown.');
      }
      const id = await this.deps.verifier.verify({ idToken: result.idToken, authority: app.authority, clientId, nonce: record.nonce });
      const account = acceptedAccount(mailbox, id);
      await this.adopt(staging, mailbox.id);
      // Checked again as the record is written: another person's first sign-in may have landed meanwhile.
      // (Then the partition holds this sign-in's tokens, but token requests look up the record's account,
      // find none there and answer not_authorized: the mailbox asks for a renewal, it never uses these tokens.)
      const updated = await this.deps.mailboxes.markAuthorized(mailbox.id, {
        homeAccountId: result.account.homeAccountId,
        username: account,
        oid: id.oid,
        tenantId: id.tid,
      }, (current) => void acceptedAccount(current, id)).catch(async (err: unknown) => {
        // Deleted while the user was signing in: its delete hook has run, so drop what we just kept.
        if (err instanceof NotFoundError) await this.deps.cache.delete(mailboxPartition(mailbox.id));
        throw err;
      });
      await this.announce(updated);
      return { mailbox: updated, account };
    } finally {
      await this.deps.cache.delete(staging);
    }
  }

  /**
   * The checked sign-in replaces the mailbox's cache partition (a renewal
   * drops the old refresh token), and this process forgets the access token
   * it may hold from the old sign-in.
   */
  private async adopt(staging: string, mailboxId: string): Promise<void> {
    const serialized = await this.deps.cache.read(staging);
    if (!serialized) throw new AppError('internal', 'The redeemed sign-in vanished from the token cache before it was kept.');
    const partition = mailboxPartition(mailboxId);
    await this.deps.cache.write(partition, serialized);
    this.deps.tokens.forget(partition);
  }

  private async announce(mailbox: MailboxRecord): Promise<void> {
    if (!this.deps.events) return;
    try {
      await this.deps.events.publish(newEvent('mailbox.authorized', { mailboxId: mailbox.id, email: mailbox.email }));
    } catch (err) {
      // The sign-in itself succeeded and is kept; the user is told so.
      this.deps.logger.warn({ err, mailboxId: mailbox.id }, 'mailbox.authorized could not be announced');
    }
  }
}
