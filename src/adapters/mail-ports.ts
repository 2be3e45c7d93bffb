/**
 * The mail adapters as the domain's ports want them: the doctor's IMAP and
 * SMTP checks (domain/doctor/ports.ts) and the reader's session and parser
 * (domain/messages/ports.ts), and the sessions that act on mail
 * (domain/messages/action-ports.ts). The composition root passes these in.
 */
import type { DoctorMailServers } from '../domain/doctor/ports.js';
import type { ActionPorts } from '../domain/messages/action-ports.js';
import type { MessagePorts } from '../domain/messages/ports.js';
import { createActionSession } from './imap/action-session.js';
import { IMAP_HINTS } from './imap/errors.js';
import { createReaderSession } from './imap/reader-session.js';
import { createImapSession } from './imap/session.js';
import { parseMessage } from './mail/parse.js';
import { SMTP_HINTS } from './smtp/failure.js';
import { verifySmtpAuth } from './smtp/verify.js';

export const doctorMailServers: DoctorMailServers = Object.freeze({
  openImap: createImapSession,
  verifySmtp: verifySmtpAuth,
  noAnswerHints: Object.freeze({ imap: IMAP_HINTS.unreachable, smtp: SMTP_HINTS.unavailable }),
});

export const messagePorts: MessagePorts = Object.freeze({
  openSession: createReaderSession,
  parse: parseMessage,
});

export const actionPorts: ActionPorts = Object.freeze({
  openSession: createActionSession,
});
