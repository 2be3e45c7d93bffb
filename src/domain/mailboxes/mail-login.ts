/**
 * What an IMAP or SMTP login of a mailbox needs besides the server: the
 * address it logs in as (for a shared mailbox, its own), the access token
 * for XOAUTH2, the CAs to trust, a logger, and the flow (it only words the
 * error hints). Polling, reading mail and the doctor all log in this way.
 */
import type { Logger } from '../../logging/logger.js';
import type { MailboxRecord } from './service.js';

export interface MailLogin {
  user: string;
  accessToken: string;
  ca: readonly string[];
  logger: Logger;
  flow: MailboxRecord['flow'];
  /** A delegated shared mailbox: the agent whose token opens `user` (words the refusal: Full Access). */
  signInAs?: string | undefined;
}

export function mailLogin(mailbox: Pick<MailboxRecord, 'email' | 'flow' | 'signInAs'>, accessToken: string, ca: readonly string[], logger: Logger): MailLogin {
  return { user: mailbox.email, accessToken, ca, logger, flow: mailbox.flow, ...(mailbox.signInAs ? { signInAs: mailbox.signInAs } : {}) };
}
