/**
 * Mail as the domain reads it: the list query, a page of envelopes, one
 * message with its parts. The wire schemas (http/schemas/messages.ts)
 * describe the same shapes to clients and are checked against these types
 * when the project compiles.
 */

export const DEFAULT_FOLDER = 'INBOX';
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
/** The longest search string accepted (Exchange cuts its own search terms far shorter). */
export const MAX_SEARCH_TEXT = 256;

export interface ListMessagesQueryT {
  /** A folder path or a special use; INBOX when absent. */
  folder?: string;
  limit?: number;
  /** The nextCursor of the previous page (opaque); not together with beforeUid. */
  cursor?: string;
  beforeUid?: number;
  from?: string;
  to?: string;
  subject?: string;
  text?: string;
  /** YYYY-MM-DD, day-granular (IMAP SEARCH). */
  since?: string;
  /** YYYY-MM-DD, exclusive. */
  before?: string;
  seen?: boolean;
  flagged?: boolean;
}

export interface MessageQueryT {
  folder?: string;
}

export interface AddressT {
  name: string | null;
  address: string | null;
}

export interface EnvelopeViewT {
  uid: number;
  messageId: string | null;
  subject: string | null;
  from: AddressT[];
  to: AddressT[];
  cc: AddressT[];
  date: string | null;
  size: number | null;
  flags: string[];
  /** true when the server's envelope was larger than mailsync accepts: only uid, size and flags are filled. */
  envelopeTooLarge?: boolean;
}

export interface MessagePageT {
  /** The folder path the request resolved to. */
  folder: string;
  uidValidity: number;
  /** Newest (highest UID) first. */
  items: EnvelopeViewT[];
  nextBeforeUid: number | null;
  nextCursor: string | null;
}

export interface HeaderT {
  name: string;
  value: string;
}

export interface AttachmentViewT {
  /** The IMAP part number ("2", "1.2"). */
  id: string;
  filename: string | null;
  contentType: string;
  size: number;
  contentId: string | null;
  /** SHA-256 of the decoded content, hex. */
  checksum: string;
  disposition: string | null;
}

export interface MessageViewT {
  uid: number;
  folder: string;
  size: number;
  flags: string[];
  messageId: string | null;
  subject: string | null;
  from: AddressT[];
  to: AddressT[];
  cc: AddressT[];
  bcc: AddressT[];
  replyTo: AddressT[];
  date: string | null;
  inReplyTo: string | null;
  references: string[];
  headers: HeaderT[];
  headersTruncated: boolean;
  text: string | null;
  /** As stored, not sanitized. */
  html: string | null;
  attachments: AttachmentViewT[];
}
