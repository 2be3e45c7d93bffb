/**
 * A message to send as the domain takes it, and a send as it is shown. The
 * wire schemas (http/schemas/sending.ts) bound shapes and lengths for
 * clients and are checked against these types when the project compiles;
 * what an address, a header or base64 must look like is checked in
 * validate.ts.
 */

export interface SendAttachmentInput {
  /** A file name, not a path. */
  filename: string;
  /** A MIME type; guessed from the file name when absent. */
  contentType?: string;
  /** The file, in standard base64. */
  content: string;
}

/** The address a message is sent as (Exchange's Send As), when it is not the mailbox's own. */
export interface SendFromT {
  /** A display name: no control characters, quotes, angle brackets or `@`. */
  name?: string;
  /** A bare address the mailbox may send as (a shared mailbox, an alias, a group). */
  address: string;
}

export interface SendForwardT {
  /** The message's UID in `folder`. */
  uid: number;
  folder: string;
}

export interface SendReplyT extends SendForwardT {
  /** Reply to all: the original's other recipients in `cc`. */
  all?: boolean;
}

export interface SendInput {
  /** The mailbox that sends (its address is the From unless `from` says otherwise). */
  mailboxId: string;
  /** Send as this address (the From header); the SMTP session still authenticates as the mailbox. */
  from?: SendFromT;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  replyTo?: string;
  subject?: string;
  text?: string;
  html?: string;
  attachments?: SendAttachmentInput[];
  /** Extra header fields; those the service writes itself are refused. */
  headers?: Record<string, string>;
  inReplyTo?: string;
  references?: string[];
  /** Answer this message of the mailbox: threading, subject and recipients from it (originals.ts). */
  reply?: SendReplyT;
  /** Forward this message of the mailbox, attached whole. */
  forward?: SendForwardT;
  /**
   * A whole RFC 5322 message in base64, sent as given (S/MIME, invitations) instead of the
   * structured fields; envelope recipients from to/cc/bcc when given, else from its To, Cc and Bcc.
   */
  raw?: string;
  /**
   * Send at this time (RFC 3339 with a zone), at most 30 days ahead: the message is `scheduled`
   * until then. A time not in the future is sent at once.
   */
  sendAt?: string;
}

export type SendStatusT = 'scheduled' | 'queued' | 'sending' | 'sent' | 'failed' | 'canceled';

export interface SendAcceptedT {
  id: string;
  /** `scheduled` when `sendAt` is in the future, else `queued`. */
  status: 'scheduled' | 'queued';
}

export interface SendErrorT {
  code: string;
  detail: string;
  hint?: string;
}

export interface RejectedRecipientT {
  address: string;
  responseCode: number | null;
  /** The server's reply to RCPT TO. */
  response: string;
}

/** What a delivery status notification said of one recipient after the message was sent. */
export interface BounceT {
  recipient: string;
  /** `failed`, or `delayed` (the reporting server keeps trying). */
  action: 'failed' | 'delayed';
  /** The enhanced status code (`5.1.1`), or null. */
  status: string | null;
  /** The reporting server's Diagnostic-Code (`550 5.1.1 … unknown`), or null. */
  diagnosticCode: string | null;
  /** When mailsync read the report. */
  at: string;
}

export interface SendViewT {
  id: string;
  mailboxId: string;
  status: SendStatusT;
  /** Submission attempts so far (a worker that died mid-attempt counts too). */
  attempts: number;
  /** The Message-ID header, fixed when the message was accepted. */
  messageId: string;
  smtpResponse: string | null;
  error: SendErrorT | null;
  rejectedRecipients: RejectedRecipientT[];
  /** Delivery status notifications about it that arrived in a watched folder, one per recipient and report. */
  bounces: BounceT[];
  /** When its stored content is (or was) deleted; null until it is sent or failed for good. */
  contentReleasedAt: string | null;
  /** When the message is (or was) due, if it was given a `sendAt`. */
  sendAt?: string;
  createdAt: string;
  updatedAt: string;
}
