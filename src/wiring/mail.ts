/**
 * The reading-and-acting-on-mail capability: the message reader behind
 * GET /v1/mailboxes/{id}/messages… and the mailbox doctor behind
 * POST /v1/mailboxes/{id}/diagnose, both opening the mailbox's IMAP (and,
 * for the doctor, SMTP) sessions on demand. Creating it opens nothing.
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
import { nothingToClose, routesOf, type Capability } from './capability.js';

export interface MailDeps {
  config: Pick<Config, 'messages'>;
  mailboxes: MailboxService;
  mailboxTokens: MailboxTokens;
  /** CAs for IMAP and SMTP TLS. */
  trust: { ca: readonly string[] };
  logger: Logger;
}

export interface Mail {
  reader: MessageReader;
  diagnose: (mailboxId: string) => Promise<DiagnoseResultT>;
}

export function createMail(deps: MailDeps): Capability<Mail> {
  const { mailboxes, mailboxTokens: tokens, trust, logger } = deps;
  const reader = new MessageReader({ mailboxes, tokens, trust, logger, limits: deps.config.messages, ...messagePorts });
  const diagnose = (mailboxId: string): Promise<DiagnoseResultT> => diagnoseMailbox({ mailboxes, tokens, trust, logger, servers: doctorMailServers }, mailboxId);
  return {
    name: 'mail',
    services: { reader, diagnose },
    routes: { api: routesOf(mailboxDoctorRoutes(diagnose), mailboxMessageRoutes(reader)) },
    readiness: [],
    close: nothingToClose,
  };
}
