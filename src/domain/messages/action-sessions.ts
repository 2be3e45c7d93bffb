/**
 * The logged-in IMAP session an action on a mailbox runs on, reused across
 * requests: a flag change costs a STORE round trip, not a TLS handshake, a
 * token and an XOAUTH2 login.
 *
 * - One session per mailbox in this process (the pool's), used by one action
 *   at a time: actions on the same mailbox queue in a lane, at most
 *   `maxQueuedPerMailbox` deep (then 429 with Retry-After). Exchange allows
 *   a mailbox about 16 to 20 connections, shared with the workers' polls and
 *   every other client: an API process takes one.
 * - The pool (adapters/imap/session-pool.ts) closes a session whose token is
 *   about to expire, or that sat idle, or failed; a session an action timed
 *   out on is closed too, never handed out again.
 * - With a per-tenant limit configured (POLL_TENANT_CONCURRENCY), an action
 *   holds one of the tenant's slots, the same slots polls hold, while it runs;
 *   none free: 429 with Retry-After, as for the queue.
 * - A token from the cache that Exchange refuses is refreshed once, as reading does.
 * - Every action has a deadline: IMAP's own timeouts are idle timeouts, and a
 *   server answering a byte at a time would hold the lane for ever.
 */
import type { ImapFolder } from '../../adapters/imap/session.js';
import { AppError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import { resolveFolder } from '../mailboxes/folders.js';
import { mailLogin } from '../mailboxes/mail-login.js';
import type { MailboxTokens } from '../mailboxes/mailbox-tokens.js';
import type { MailboxRecord, MailboxService } from '../mailboxes/service.js';
import type { AccessToken } from '../tokens/token-service.js';
import type { ActionPorts, ActionSessionPort, SessionPoolPort } from './action-ports.js';

export interface ActionSessionsDeps {
  mailboxes: Pick<MailboxService, 'get'>;
  tokens: Pick<MailboxTokens, 'tokenFor'>;
  /** CAs for IMAP TLS. */
  trust: { ca: readonly string[] };
  logger: Logger;
  openSession: ActionPorts['openSession'];
  pool: SessionPoolPort<ActionSessionPort>;
  /** Told of every IMAP login (a metric: logins per action show how well sessions are reused). */
  onLogin: () => void;
  /** One slot of the mailbox's tenant while an action runs (its release), or undefined when none is free; absent: no limit. */
  tenantSlot?: ((mailbox: MailboxRecord) => Promise<(() => Promise<void>) | undefined>) | undefined;
  /** Actions of one mailbox waiting for its session, past which a request is refused (429). @defaultValue 50 */
  maxQueuedPerMailbox?: number;
  /** The longest one action may take, in ms, whatever the server does. @defaultValue 60 000 */
  actionTimeoutMs?: number;
}

interface Lane {
  tail: Promise<void>;
  queued: number;
}

/** How long a session's LIST answers which path a name means: folders are rarely renamed, and a miss looks again. */
const FOLDER_LIST_TTL_MS = 60_000;

/** Retry-After (s) of a refusal for a full queue or tenant: actions take milliseconds to seconds. */
const BUSY_RETRY_AFTER_SECONDS = 1;

export class ActionSessions {
  private readonly lanes = new Map<string, Lane>();
  /** Each pooled session's last LIST (gone with the session). */
  private readonly listed = new WeakMap<ActionSessionPort, { at: number; folders: ImapFolder[] }>();
  private readonly maxQueued: number;
  private readonly timeoutMs: number;

  constructor(private readonly deps: ActionSessionsDeps) {
    this.maxQueued = deps.maxQueuedPerMailbox ?? 50;
    this.timeoutMs = deps.actionTimeoutMs ?? 60_000;
  }

  /** Runs `work` on the mailbox's session, in its lane, within the tenant's limit and the deadline. */
  async use<T>(mailboxId: string, work: (session: ActionSessionPort, mailbox: MailboxRecord) => Promise<T>): Promise<T> {
    const mailbox = await this.deps.mailboxes.get(mailboxId); // 404 for an unknown id
    return this.inLane(mailbox.id, async () => {
      const release = await this.tenantSlot(mailbox);
      try {
        return await this.onSession(mailbox, work);
      } finally {
        await release?.().catch(() => undefined);
      }
    });
  }

  /**
   * The folder a request names (a path, or a special use such as `\Trash`), as the server lists it.
   * The session's last LIST is used for FOLDER_LIST_TTL_MS; a name it does not hold is looked up
   * afresh (a folder created since). A folder deleted since fails the command that names it, which
   * `use` answers as folder_not_found.
   */
  async folderPath(session: ActionSessionPort, mailbox: MailboxRecord, wanted: string): Promise<string> {
    if (wanted.toUpperCase() === 'INBOX') return 'INBOX';
    const cached = this.listed.get(session);
    const fresh = cached && Date.now() - cached.at < FOLDER_LIST_TTL_MS ? resolveFolder(cached.folders, wanted) : undefined;
    const folder = fresh ?? resolveFolder(await this.listFolders(session), wanted);
    if (!folder) throw folderNotFound(mailbox, wanted);
    return folder.path;
  }

  /** LIST, remembered for folderPath. */
  async listFolders(session: ActionSessionPort): Promise<ImapFolder[]> {
    const folders = await session.listFolders();
    this.listed.set(session, { at: Date.now(), folders });
    return folders;
  }

  private async inLane<T>(key: string, run: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { tail: Promise.resolve(), queued: 0 };
      this.lanes.set(key, lane);
    }
    if (lane.queued >= this.maxQueued) {
      throw busy(`${this.maxQueued} actions on this mailbox are already waiting: one runs at a time per mailbox.`);
    }
    lane.queued += 1;
    const previous = lane.tail;
    let done!: () => void;
    lane.tail = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      await previous;
      return await run();
    } finally {
      lane.queued -= 1;
      if (lane.queued === 0) this.lanes.delete(key);
      done();
    }
  }

  private async tenantSlot(mailbox: MailboxRecord): Promise<(() => Promise<void>) | undefined> {
    if (!this.deps.tenantSlot) return undefined;
    const release = await this.deps.tenantSlot(mailbox);
    if (!release) throw busy('The tenant of this mailbox has as many IMAP sessions at work as POLL_TENANT_CONCURRENCY allows.');
    return release;
  }

  private async onSession<T>(mailbox: MailboxRecord, work: (session: ActionSessionPort, mailbox: MailboxRecord) => Promise<T>): Promise<T> {
    const { session, token } = await this.acquire(mailbox);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        session.close();
        const where = `${mailbox.imap.host}:${mailbox.imap.port}`;
        reject(new AppError('imap_unreachable', `${where} did not complete the action on ${mailbox.email} within ${Math.round(this.timeoutMs / 1000)} s; the connection was dropped.`, {
          hint: 'The server answers too slowly or not at all: retry later; check the mailbox\'s IMAP host if it lasts.',
          step: 'network',
        }));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([work(session, mailbox), deadline]);
    } catch (err) {
      // Every folder here is one the request named: one the server does not have is the request's 404.
      if (err instanceof AppError && err.code === 'imap_folder_not_found') {
        this.listed.delete(session);
        const path = /no such folder "([^"]*)"/.exec(err.detail)?.[1];
        throw folderNotFound(mailbox, path ?? 'named in the request', err);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.deps.pool.release(mailbox.id, session, token, session.usable && !timedOut);
    }
  }

  /** The pooled session, or a new login (with a fresh token once if the cached one is refused). */
  private async acquire(mailbox: MailboxRecord): Promise<{ session: ActionSessionPort; token: AccessToken }> {
    const token = await this.deps.tokens.tokenFor(mailbox.id);
    try {
      const { session } = await this.deps.pool.acquire(mailbox.id, token, () => this.login(mailbox, token));
      return { session, token };
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'imap_auth_failed' && token.fromCache)) throw err;
      const fresh = await this.deps.tokens.tokenFor(mailbox.id, { forceRefresh: true });
      const { session } = await this.deps.pool.acquire(mailbox.id, fresh, () => this.login(mailbox, fresh));
      return { session, token: fresh };
    }
  }

  private async login(mailbox: MailboxRecord, token: AccessToken): Promise<ActionSessionPort> {
    const session = this.deps.openSession({
      ...mailbox.imap,
      ...mailLogin(mailbox, token.accessToken, this.deps.trust.ca, this.deps.logger.child({ mailboxId: mailbox.id })),
    });
    this.deps.onLogin();
    try {
      await session.connect();
      return session;
    } catch (err) {
      await session.logout();
      throw err;
    }
  }
}

/** A 429 with Retry-After: the mailbox's queue or the tenant's slots are full. */
function busy(detail: string): AppError {
  return new AppError('rate_limited', detail, {
    hint: 'Retry after the Retry-After delay; act on many messages of one mailbox with one POST …/messages/actions rather than one request each.',
    fields: { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS },
  });
}

export function folderNotFound(mailbox: Pick<MailboxRecord, 'email'>, wanted: string, cause?: unknown): AppError {
  return new AppError('folder_not_found', `Mailbox ${mailbox.email} has no folder ${wanted}.`, {
    hint: 'Name a folder as GET /v1/mailboxes/{id}/folders lists it (INBOX, Archive/2024) or a special use (\\Sent, \\Junk, \\Drafts, \\Trash, \\Archive).',
    fields: { folder: wanted },
    cause,
  });
}
