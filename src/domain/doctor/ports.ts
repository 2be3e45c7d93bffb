/**
 * What the mailbox doctor needs from outside the domain: an IMAP session to
 * log in and list folders with, an SMTP AUTH check, and the adapters' hint
 * for a server that does not answer. The composition root injects the real
 * adapters (adapters/mail-ports.ts); tests inject fakes.
 */
import type { ImapFolder, ImapFolderStatus, ImapSessionOptions } from '../../adapters/imap/session.js';
import type { SmtpVerifyOptions } from '../../adapters/smtp/verify.js';

/** What the doctor asks of an IMAP session (the adapter's ImapSession provides it). */
export interface DoctorImapSession {
  connect(): Promise<void>;
  listFolders(): Promise<ImapFolder[]>;
  status(path: string): Promise<ImapFolderStatus>;
  logout(): Promise<void>;
}

export interface DoctorMailServers {
  openImap(options: ImapSessionOptions): DoctorImapSession;
  /** Resolves when the server accepts the login (XOAUTH2), throws the adapter's AppError otherwise. */
  verifySmtp(options: SmtpVerifyOptions): Promise<void>;
  /** The hint for a server that gives no answer within a step's budget, in the adapters' words. */
  noAnswerHints: { imap: string; smtp: string };
}
