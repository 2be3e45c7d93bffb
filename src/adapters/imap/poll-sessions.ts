/**
 * The poll's IMAP sessions (the domain's PollSessions port): new ones logged
 * in over XOAUTH2, kept between polls in a SessionPool while their token
 * lives, and idling on a folder to hear of new mail.
 */
import type { AccessToken } from '../../domain/tokens/token-service.js';
import type { MailActivity, PollMailSession, PollSessions } from '../../domain/polling/ports.js';
import { createPollSession, type PollSession } from './poll-session.js';
import { SessionPool, type SessionPoolOptions } from './session-pool.js';
import type { ImapSessionOptions } from './session.js';

export class KeptPollSessions implements PollSessions {
  private readonly pool: SessionPool;
  private closing = false;

  /** `onLogin` is told of each new session about to log in (the logins counter). */
  constructor(
    options: SessionPoolOptions,
    private readonly onLogin: () => void = () => undefined,
    private readonly create: (options: ImapSessionOptions) => PollSession = createPollSession,
  ) {
    this.pool = new SessionPool(options);
  }

  async open(
    mailboxId: string, login: ImapSessionOptions, token: AccessToken, using: (session: PollMailSession) => void,
  ): Promise<{ session: PollMailSession; done(keep: boolean): void }> {
    const open = async (): Promise<PollSession> => {
      const session = this.create(login);
      using(session);
      this.onLogin();
      await session.connect();
      return session;
    };
    const { session } = await this.pool.acquire(mailboxId, token, open);
    using(session);
    return { session, done: (keep) => this.pool.release(mailboxId, session, token, keep && !this.closing) };
  }

  drop(mailboxId: string): void {
    this.pool.drop(mailboxId);
  }

  /** Closes the kept sessions of the mailboxes `drop` picks (the poll shards a worker gave up). */
  dropWhere(drop: (mailboxId: string) => boolean): void {
    for (const mailboxId of this.pool.keys()) if (drop(mailboxId)) this.pool.drop(mailboxId);
  }

  listen(mailboxId: string, folder: string, onActivity: (kind: MailActivity) => void, uidNext?: number): boolean {
    const session = this.pool.peek(mailboxId);
    if (!session) return false;
    session.onActivity(folder, onActivity);
    void session.idleOn(folder, uidNext).catch(() => undefined);
    return true;
  }

  /** Sessions are kept again (a worker started again after a stop). */
  reopen(): void {
    this.closing = false;
  }

  /** Closes every kept session; sessions given back from now on are closed too. */
  async closeAll(): Promise<void> {
    this.closing = true;
    await this.pool.closeAll();
  }
}
