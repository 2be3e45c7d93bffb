/**
 * What reading mail needs from outside the domain: an IMAP session that can
 * page and search envelopes, describe a message's parts (BODYSTRUCTURE) and
 * download a message or one of its parts, and a MIME parser. The composition
 * root injects the real adapters (adapters/mail-ports.ts); tests inject fakes.
 */
import type { Readable } from 'node:stream';
import type {
  EnvelopePage, MessageEnvelope, MessageSearch, MessageStructure, OpenedFolder, PartDownload,
} from '../../adapters/imap/reader-session.js';
import type { ImapFolder, ImapSessionOptions } from '../../adapters/imap/session.js';
import type { ParsedMessage, ParseLimits } from '../../adapters/mail/parse.js';

/** What reading needs of an IMAP session (the adapter's ReaderSession provides it). */
export interface MessageSession {
  connect(): Promise<void>;
  listFolders(): Promise<ImapFolder[]>;
  examine(path: string): Promise<OpenedFolder>;
  listNewest(path: string, limit: number, beforeUid: number | undefined, options?: { envelopes: boolean }): Promise<EnvelopePage>;
  envelope(path: string, uid: number): Promise<MessageEnvelope | undefined>;
  messageInfo(path: string, uid: number): Promise<{ size: number; flags: string[] } | undefined>;
  searchNewest(path: string, search: MessageSearch, limit: number, beforeUid: number | undefined, options?: { envelopes: boolean }): Promise<EnvelopePage>;
  structure(path: string, uid: number): Promise<MessageStructure | undefined>;
  download(path: string, uid: number): Promise<Readable | undefined>;
  downloadPart(path: string, uid: number, part: string, maxBytes: number): Promise<PartDownload | undefined>;
  logout(): Promise<void>;
}

export interface MessagePorts {
  openSession(options: ImapSessionOptions): MessageSession;
  parse(source: Readable, limits: ParseLimits): Promise<ParsedMessage>;
}
