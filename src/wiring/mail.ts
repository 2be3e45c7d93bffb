/**
 * The reading-and-acting-on-mail capability: the message reader behind
 * GET /v1/mailboxes/{id}/messages… and the mailbox doctor behind
 * POST /v1/mailboxes/{id}/diagnose, both opening the mailbox's IMAP (and,
 * for the doctor, SMTP) sessions on demand, and acting on mail (folders,
 * flags, move, delete: wiring/mail-actions.ts) on sessions kept per mailbox.
 * Creating it opens nothing.
 */
import { doctorMailServers, messagePorts } from '../adapters/mail-ports.js';
import type { Config } from '../config/config.js';
import { diagnoseMailbox, type DiagnoseResultT } from '../domain/doctor/diagnose-mailbox.js';
import type { MailboxTokens } from '../domain/mailboxes/mailbox-tokens.js';
import type { MailboxService } from '../domain/mailboxes/service.js';
import { MessageReader } from '../domain/messages/reader.js';
import { mailboxDoctorRoutes } from '../http/routes/mailbox-doctor.js';
import { mailboxMessageRoutes } from '../http/routes/mailbox-messages.js';
import type { Logger } from '../logging/logger.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { Metrics } from '../observability/metrics.js';
import type { KeySpace } from '../store/keys.js';
import { routesOf, type Capability } from './capability.js';
import { createMailActions, type MailActions } from './mail-actions.js';

export interface MailDeps {
  config: Pick<Config, 'messages' | 'actions' | 'polling'>;
  redis: Redis;
  keys: KeySpace;
  metrics: Metrics;
  mailboxes: MailboxService;
  mailboxTokens: MailboxTokens;
  /** CAs for IMAP and SMTP TLS. */
  trust: { ca: readonly string[] };
  logger: Logger;
}

export interface Mail {
  reader: MessageReader;
  /** Folders, flags, move, delete: wiring/mail-actions.ts. */
  acting: Pick<MailActions, 'folders' | 'actions'>;
  diagnose: (mailboxId: string) => Promise<DiagnoseResultT>;
}

export function createMail(deps: MailDeps): Capability<Mail> {
  const { mailboxes, mailboxTokens: tokens, trust, logger } = deps;
  const reader = new MessageReader({ mailboxes, tokens, trust, logger, limits: deps.config.messages, ...messagePorts });
  const diagnose = (mailboxId: string): Promise<DiagnoseResultT> => diagnoseMailbox({ mailboxes, tokens, trust, logger, servers: doctorMailServers }, mailboxId);
  const acting = createMailActions({ ...deps, mailboxTokens: tokens });
  return {
    name: 'mail',
    services: { reader, diagnose, acting: { folders: acting.folders, actions: acting.actions } },
    routes: { api: routesOf(mailboxDoctorRoutes(diagnose), mailboxMessageRoutes(reader), acting.routes) },
    readiness: [],
    // The action sessions this process keeps logged in.
    close: () => acting.close(),
  };
}
