/**
 * Reading a mailbox's mail: the mailbox → token → IMAP session → folder
 * flow behind GET /v1/mailboxes/{id}/messages…
 *
 * - One session per request, logged out when the answer is ready, or for a
 *   raw download when the stream ends, fails or is destroyed (the HTTP client
 *   went away). Sessions are not pooled: polling's pool holds sessions busy
 *   with IDLE, and a read is interactive and rare in comparison.
 * - Sizes are checked with RFC822.SIZE before any body is fetched, so a
 *   message over a limit costs one FETCH, not a download. Parsing also counts
 *   the bytes it is given (the server's size is only its word).
 * - Attachments are named by their IMAP part number: the parse's numbering,
 * checked against the server's BODYSTRUCTURE, and a download fetches that
 * part alone (BODY.PEEK[<part>]), decoded as it streams.
 * - A token from the cache that Exchange refuses is refreshed once: a
 *   permission changed in the portal invalidates tokens before they expire.
 */
import { finished, type Readable } from 'node:stream';
import type { BodyPart, EnvelopePage, MessageEnvelope, OpenedFolder } from '../../adapters/imap/reader-session.js';
import type { ParsedAttachment } from '../../adapters/mail/parse.js';
import type { MessagesConfig } from '../../config/messages-config.js';
import { AppError, isResponseTooLarge } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import { resolveFolder } from '../mailboxes/folders.js';
import { mailLogin } from '../mailboxes/mail-login.js';
import type { MailboxTokens } from '../mailboxes/mailbox-tokens.js';
import type { MailboxRecord, MailboxService } from '../mailboxes/service.js';
import type { AccessToken } from '../tokens/token-service.js';
import type { MessagePorts, MessageSession } from './ports.js';
import { DEFAULT_FOLDER, DEFAULT_PAGE_SIZE, type ListMessagesQueryT, type MessagePageT, type MessageViewT } from './model.js';
import { checkCursorValidity, encodeMessageCursor, pageStart, searchOf } from './search.js';

export interface MessageReaderDeps {
  mailboxes: Pick<MailboxService, 'get'>;
  tokens: Pick<MailboxTokens, 'tokenFor'>;
  /** CAs for IMAP TLS (Node's roots plus NODE_EXTRA_CA_CERTS). */
  trust: { ca: readonly string[] };
  logger: Logger;
  limits: MessagesConfig;
  /** The IMAP session and the MIME parser, as the composition root injects them (tests: fakes). */
  openSession: MessagePorts['openSession'];
  parse: MessagePorts['parse'];
}

export interface AttachmentDownload {
  uid: number;
  /** The part number asked for. */
  id: string;
  /** type/subtype with a charset for text, safe as a header value. */
  contentType: string;
  /** As the sender named it, decoded; null when the part has no name. */
  filename: string | null;
  /** The decoded bytes; the session closes when the stream ends or is destroyed. */
  content: Readable;
}

export interface RawMessage {
  uid: number;
  size: number;
  /** The message source as stored (CRLF line endings over IMAP); the session closes when it ends or is destroyed. */
  content: Readable;
}

interface Lease {
  session: MessageSession;
  folder: OpenedFolder;
  close(): Promise<void>;
}

/** Messages with an envelope too large that one page gets past; more looks like a hostile server, not a mailbox. */
const MAX_TOO_LARGE_PER_PAGE = 3;

/** Lists one page (newest first, or searched) from an open folder. */
type PageLister = (session: MessageSession, path: string, options?: { envelopes: boolean }) => Promise<EnvelopePage>;

function pageOf(folder: OpenedFolder, page: EnvelopePage): MessagePageT {
  const last = page.messages.at(-1);
  const next = page.more && last ? last.uid : null;
  return {
    folder: folder.path,
    uidValidity: folder.uidValidity,
    items: page.messages,
    nextBeforeUid: next,
    nextCursor: next === null ? null : encodeMessageCursor(folder.uidValidity, next),
  };
}

/** A bytes allowance over the size BODYSTRUCTURE gives a part: decoding only shrinks it, line endings may differ. */
function partByteBound(size: number): number {
  return Math.ceil(size * 1.1) + 64 * 1024;
}

const TOKEN = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/;

/** The part's type as a header value: type/subtype (else application/octet-stream), with its charset for text. */
function contentTypeOf(part: BodyPart): string {
  const type = TOKEN.test(part.contentType) ? part.contentType : 'application/octet-stream';
  const charset = part.parameters.charset;
  return type.startsWith('text/') && charset && /^[A-Za-z0-9._:-]{1,40}$/.test(charset) ? `${type}; charset=${charset}` : type;
}

/**
 * The parse's part numbers checked against the server's BODYSTRUCTURE, whose numbering downloads
 * use. mailsplit and IMAP agree but for the body of an encapsulated message (message/rfc822) that
 * is not multipart: mailsplit gives it the message's number ("2"), IMAP "2.1".
 */
function withServerIds(attachments: readonly ParsedAttachment[], parts: readonly BodyPart[]): ParsedAttachment[] {
  const byId = new Map(parts.map((p) => [p.part, p]));
  return attachments.map((a) => {
    const named = byId.get(a.id);
    const body = `${a.id}.1`;
    if (named?.contentType === 'message/rfc822' && a.contentType !== 'message/rfc822' && byId.has(body)) return { ...a, id: body };
    return a;
  });
}

function rawUrl(mailboxId: string, uid: number, folder: string): string {
  return `GET /v1/mailboxes/${mailboxId}/messages/${uid}/raw?folder=${encodeURIComponent(folder)}`;
}

export class MessageReader {
  private readonly parse: MessagePorts['parse'];
  private readonly openSession: MessagePorts['openSession'];

  constructor(private readonly deps: MessageReaderDeps) {
    this.parse = deps.parse;
    this.openSession = deps.openSession;
  }

  /** A page of envelopes, newest first: the folder's, or those a search matches. */
  async list(mailboxId: string, query: ListMessagesQueryT): Promise<MessagePageT> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const wanted = query.folder ?? DEFAULT_FOLDER;
    // The query's own mistakes are 400s before any login.
    const start = pageStart(query);
    const search = searchOf(query);
    const page: PageLister = search
      ? (session, path, options) => session.searchNewest(path, search, limit, start.beforeUid, options)
      : (session, path, options) => session.listNewest(path, limit, start.beforeUid, options);
    const lease = await this.open(mailboxId, wanted);
    try {
      checkCursorValidity(start, lease.folder.uidValidity);
      return pageOf(lease.folder, await page(lease.session, lease.folder.path));
    } catch (err) {
      if (!isResponseTooLarge(err)) throw err;
      // A message of this page has an envelope larger than the service accepts, and the session went with it.
      await lease.close();
      return await this.listPastTooLarge(mailboxId, wanted, page);
    } finally {
      await lease.close();
    }
  }

  /**
   * The page listed again without envelopes, then each envelope fetched alone; a message whose
   * envelope is too large keeps only its UID, size and flags (`envelopeTooLarge`). Each such
   * message costs a new session (the answer dropped the connection): past MAX_TOO_LARGE_PER_PAGE
   * of them, the error stands.
   */
  private async listPastTooLarge(mailboxId: string, wanted: string, page: PageLister): Promise<MessagePageT> {
    let lease = await this.open(mailboxId, wanted);
    try {
      const bare = await page(lease.session, lease.folder.path, { envelopes: false });
      const messages: MessageEnvelope[] = [];
      let tooLarge = 0;
      for (const message of bare.messages) {
        try {
          const envelope = await lease.session.envelope(lease.folder.path, message.uid);
          if (envelope) messages.push(envelope);
        } catch (err) {
          if (!isResponseTooLarge(err) || ++tooLarge > MAX_TOO_LARGE_PER_PAGE) throw err;
          messages.push(message);
          await lease.close();
          lease = await this.open(mailboxId, wanted);
        }
      }
      return pageOf(lease.folder, { messages, more: bare.more });
    } finally {
      await lease.close();
    }
  }

  /** One message, parsed; attachment metadata only. */
  async get(mailboxId: string, uid: number, folder: string = DEFAULT_FOLDER): Promise<MessageViewT> {
    const maxBytes = this.deps.limits.parseMaxBytes;
    const lease = await this.open(mailboxId, folder);
    try {
      const { path } = lease.folder;
      // Size, flags and the server's part numbers in one FETCH.
      const info = await lease.session.structure(path, uid);
      if (!info) throw this.messageNotFound(lease, uid);
      const tooLarge = (size: string) => new AppError('message_too_large', `Message ${uid} is ${size}: larger than this service parses (${maxBytes} bytes).`, {
        hint: `Download it unparsed: ${rawUrl(mailboxId, uid, folder)}, or raise MESSAGE_PARSE_MAX_BYTES.`,
        fields: { size: info.size, maxBytes },
      });
      if (info.size > maxBytes) throw tooLarge(`${info.size} bytes`);
      const source = await lease.session.download(path, uid);
      if (!source) throw this.messageNotFound(lease, uid);
      const parsed = await this.parse(source, { maxBytes }).catch((err: unknown) => {
        if (err instanceof AppError && err.code === 'message_too_large') throw tooLarge('larger than the server said');
        if (err instanceof AppError && err.code === 'message_unparseable') {
          throw new AppError('message_unparseable', err.detail, { hint: `Download it unparsed: ${rawUrl(mailboxId, uid, folder)}.`, cause: err });
        }
        throw err;
      });
      return { uid, folder: path, size: info.size, flags: info.flags, ...parsed, attachments: withServerIds(parsed.attachments, info.parts) };
    } finally {
      await lease.close();
    }
  }

  /**
   * One part of a message, decoded, as a stream: BODYSTRUCTURE says whether the part is there and
   * how large, then only that part is fetched. The IMAP session stays open until the stream is done.
   */
  async attachment(mailboxId: string, uid: number, id: string, folder: string = DEFAULT_FOLDER): Promise<AttachmentDownload> {
    const maxBytes = this.deps.limits.rawMaxBytes;
    const lease = await this.open(mailboxId, folder);
    try {
      const { path } = lease.folder;
      const structure = await lease.session.structure(path, uid);
      if (!structure) throw this.messageNotFound(lease, uid);
      const part = structure.parts.find((p) => p.part === id);
      if (!part) throw this.attachmentNotFound(lease, uid, id);
      if (part.size > maxBytes) {
        throw new AppError('message_too_large', `Attachment ${id} of message ${uid} is ${part.size} bytes: larger than this service downloads (${maxBytes} bytes).`, {
          hint: 'Raise MESSAGE_RAW_MAX_BYTES, or read the message with an IMAP client.',
          fields: { size: part.size, maxBytes },
        });
      }
      const download = await lease.session.downloadPart(path, uid, id, partByteBound(part.size));
      // Expunged since the FETCH of its structure.
      if (!download) throw this.messageNotFound(lease, uid);
      finished(download.content, (err) => {
        if (err) this.deps.logger.info({ mailboxId, uid, attachmentId: id, err }, 'attachment download ended early');
        void lease.close();
      });
      return { uid, id, contentType: contentTypeOf(part), filename: download.filename ?? part.filename, content: download.content };
    } catch (err) {
      await lease.close();
      throw err;
    }
  }

  /** One message's source as a stream; the IMAP session stays open until the stream is done. */
  async raw(mailboxId: string, uid: number, folder: string = DEFAULT_FOLDER): Promise<RawMessage> {
    const maxBytes = this.deps.limits.rawMaxBytes;
    const lease = await this.open(mailboxId, folder);
    try {
      const info = await lease.session.messageInfo(lease.folder.path, uid);
      if (!info) throw this.messageNotFound(lease, uid);
      if (info.size > maxBytes) {
        throw new AppError('message_too_large', `Message ${uid} is ${info.size} bytes: larger than this service downloads (${maxBytes} bytes).`, {
          hint: 'Raise MESSAGE_RAW_MAX_BYTES, or read the message with an IMAP client.',
          fields: { size: info.size, maxBytes },
        });
      }
      const content = await lease.session.download(lease.folder.path, uid);
      if (!content) throw this.messageNotFound(lease, uid);
      // Ended, failed, or destroyed by the HTTP layer when the client disconnected: log out in each case.
      finished(content, (err) => {
        if (err) this.deps.logger.info({ mailboxId, uid, err }, 'raw message download ended early');
        void lease.close();
      });
      return { uid, size: info.size, content };
    } catch (err) {
      await lease.close();
      throw err;
    }
  }

  /** Logs in and opens the folder read-only; the caller must close the lease. */
  private async open(mailboxId: string, wanted: string): Promise<Lease> {
    const mailbox = await this.deps.mailboxes.get(mailboxId); // 404 for an unknown id
    const session = await this.login(mailbox);
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => (closed ??= session.logout());
    try {
      const path = await this.folderPath(session, mailbox, wanted);
      const folder = await session.examine(path).catch((err: unknown) => {
        // Deleted between LIST and EXAMINE, or an INBOX the server does not have.
        if (err instanceof AppError && err.code === 'imap_folder_not_found') throw this.folderNotFound(mailbox, wanted, err);
        throw err;
      });
      return { session, folder, close };
    } catch (err) {
      await close();
      throw err;
    }
  }

  private async login(mailbox: MailboxRecord): Promise<MessageSession> {
    const token = await this.deps.tokens.tokenFor(mailbox.id);
    try {
      return await this.connect(mailbox, token);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'imap_auth_failed' && token.fromCache)) throw err;
      return this.connect(mailbox, await this.deps.tokens.tokenFor(mailbox.id, { forceRefresh: true }));
    }
  }

  private async connect(mailbox: MailboxRecord, token: AccessToken): Promise<MessageSession> {
    const session = this.openSession({
      ...mailbox.imap,
      ...mailLogin(mailbox, token.accessToken, this.deps.trust.ca, this.deps.logger.child({ mailboxId: mailbox.id })),
    });
    try {
      await session.connect();
      return session;
    } catch (err) {
      await session.logout();
      throw err;
    }
  }

  /** INBOX needs no LIST (every server has it, case-insensitively); other names and special uses are looked up. */
  private async folderPath(session: MessageSession, mailbox: MailboxRecord, wanted: string): Promise<string> {
    if (wanted.toUpperCase() === 'INBOX') return 'INBOX';
    const folder = resolveFolder(await session.listFolders(), wanted);
    if (!folder) throw this.folderNotFound(mailbox, wanted);
    return folder.path;
  }

  private folderNotFound(mailbox: MailboxRecord, wanted: string, cause?: unknown): AppError {
    return new AppError('folder_not_found', `Mailbox ${mailbox.email} has no folder ${wanted}.`, {
      hint: 'Name a folder as IMAP lists it (INBOX, Archive/2024) or a special use (\\Sent, \\Junk, \\Drafts, \\Trash, \\Archive).',
      fields: { folder: wanted },
      cause,
    });
  }

  private attachmentNotFound(lease: Lease, uid: number, id: string): AppError {
    return new AppError('attachment_not_found', `Message ${uid} in ${lease.folder.path} has no part ${id}.`, {
      hint: 'Attachment ids are the `id` of the attachments listed by GET /v1/mailboxes/{id}/messages/{uid} (IMAP part numbers such as 2 or 1.2).',
      fields: { folder: lease.folder.path, uid, attachmentId: id },
    });
  }

  private messageNotFound(lease: Lease, uid: number): AppError {
    return new AppError('message_not_found', `Folder ${lease.folder.path} has no message with UID ${uid}.`, {
      hint: 'UIDs are those of GET /v1/mailboxes/{id}/messages for the same folder; a message moved or deleted since has none.',
      fields: { folder: lease.folder.path, uid },
    });
  }
}
