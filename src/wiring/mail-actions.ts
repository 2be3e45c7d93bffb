/**
 * Acting on mail, assembled: the API process's pool of logged-in IMAP
 * sessions (one per mailbox, adapters/imap/session-pool.ts), the lanes and
 * limits around it (domain/messages/action-sessions.ts), the folder and
 * message services, and their routes. Part of the mail capability
 * (wiring/mail.ts), which closes the pool. Creating it opens nothing.
 */
import { actionPorts } from '../adapters/mail-ports.js';
import { SessionPool } from '../adapters/imap/session-pool.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { Config } from '../config/config.js';
import type { MailboxTokens } from '../domain/mailboxes/mailbox-tokens.js';
import type { MailboxRecord, MailboxService } from '../domain/mailboxes/service.js';
import type { ActionSessionPort } from '../domain/messages/action-ports.js';
import { ActionSessions } from '../domain/messages/action-sessions.js';
import { MessageActions } from '../domain/messages/actions.js';
import { MailFolders } from '../domain/messages/mail-folders.js';
import { mailboxActionRoutes } from '../http/routes/mailbox-actions.js';
import { mailboxFolderRoutes } from '../http/routes/mailbox-folders.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { KeySpace } from '../store/keys.js';
import { RedisSemaphore } from '../store/semaphore.js';
import { routesOf, type RoutePlugin } from './capability.js';

export interface MailActionsDeps {
  config: Pick<Config, 'actions' | 'polling'>;
  redis: Redis;
  keys: KeySpace;
  mailboxes: MailboxService;
  mailboxTokens: MailboxTokens;
  trust: { ca: readonly string[] };
  metrics: Metrics;
  logger: Logger;
}

export interface MailActions {
  folders: MailFolders;
  actions: MessageActions;
  routes: RoutePlugin;
  close(): Promise<void>;
}

/** The longest one action may take (ms); a tenant slot outlives it by 5 s, as a poll's does. */
const ACTION_TIMEOUT_MS = 60_000;

export function createMailActions(deps: MailActionsDeps): MailActions {
  const { config, metrics } = deps;
  const pool = new SessionPool<ActionSessionPort>({
    maxOpen: config.actions.maxSessions,
    idleMs: config.actions.idleSeconds * 1000,
    // As polling's: a session is not reused within 5 minutes of its token's expiry (Exchange ends it then).
    renewBeforeMs: 5 * 60_000,
  });
  const limit = config.polling.tenantConcurrency;
  const semaphore = new RedisSemaphore(deps.redis);
  // The same slots polls take (jobs/polling/poll-worker.ts withinTenantLimit): a tenant's IMAP work, whoever does it.
  const tenantSlot = limit <= 0 ? undefined : async (mailbox: MailboxRecord): Promise<(() => Promise<void>) | undefined> => {
    const permit = await semaphore.acquire(deps.keys.tenantPolls(mailbox.tenantId ?? mailbox.connectionId), limit, ACTION_TIMEOUT_MS + 5_000);
    return permit ? () => semaphore.release(permit) : undefined;
  };
  const sessions = new ActionSessions({
    mailboxes: deps.mailboxes,
    tokens: deps.mailboxTokens,
    trust: deps.trust,
    logger: deps.logger.child({ module: 'mail-actions' }),
    openSession: actionPorts.openSession,
    pool,
    onLogin: () => metrics.imapLogins.inc({ purpose: 'action' }),
    tenantSlot,
    actionTimeoutMs: ACTION_TIMEOUT_MS,
  });
  const folders = new MailFolders(sessions);
  const actions = new MessageActions(sessions);
  return {
    folders,
    actions,
    routes: routesOf(mailboxFolderRoutes(folders), mailboxActionRoutes(actions)),
    close: () => pool.closeAll(),
  };
}
