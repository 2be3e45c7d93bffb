/**
 * The IMAP commands acting on mail needs, on top of an authenticated
 * session: LIST (bounded), CREATE, STATUS counts, and on a folder opened
 * read-write (SELECT): which of some UIDs exist (UID SEARCH), their flags
 * (UID FETCH), UID STORE, UID MOVE (or UID COPY then UID EXPUNGE), and
 * UID EXPUNGE.
 *
 * Every command names UIDs, never sequence numbers: another client may
 * expunge messages at any moment, which renumbers the sequence but never
 * changes a UID. And nothing here ever sends a plain EXPUNGE, which would
 * also remove the messages another client flagged \Deleted: removing needs
 * UID EXPUNGE (UIDPLUS, RFC 4315), and a server without it is refused
 * (imap_unsupported) rather than worked around.
 *
 * Sessions are pooled (wiring/mail.ts) and used by one request at a time:
 * the selected folder stays selected between requests.
 */
import type { FetchMessageObject } from 'imapflow';
import { AppError } from '../../errors/errors.js';
import { guardResponses } from './response-guards.js';
import { BOUNDED_RESPONSES, ImapSession, type ImapFolder, type ImapSessionOptions } from './session.js';

/**
 * Folders one LIST may answer. Exchange Online keeps a mailbox's folder count well below (its
 * documented hierarchy limits are in the low thousands per parent); past this, the answer is not
 * a mailbox's, and the session is dropped rather than held in memory.
 */
export const MAX_LISTED_FOLDERS = 10_000;

/** UIDs one command of this service names (the bulk action's limit); a COPYUID naming more is dropped. */
export const MAX_UIDS_PER_COMMAND = 1_000;

/** Flags kept per message in an answer; hostile servers send anything. */
const MAX_FLAGS = 64;
const MAX_FLAG_LENGTH = 256;

export interface FolderCounts {
  messages: number;
  unseen: number;
}

export interface MovedMessages {
  /** The target folder's UID of each moved message, by its UID in the source; undefined when the server did not say. */
  uidMap: Map<number, number> | undefined;
  /**
   * The COPYUID response code (RFC 4315) of the answer: `valid`, `malformed` (removed unread, see
   * response-guards.ts), or `absent`. A server with UIDPLUS sends it for every COPY or MOVE that
   * copied something: absent there means nothing was moved.
   */
  copyUid: 'valid' | 'malformed' | 'absent';
}

/** A compact UID set (`1:3,7,9:10`) for sorted, unique UIDs. */
export function uidSet(uids: readonly number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i += 1) {
    const start = sorted[i] as number;
    let end = start;
    while (sorted[i + 1] === end + 1) {
      end += 1;
      i += 1;
    }
    parts.push(start === end ? String(start) : `${start}:${end}`);
  }
  return parts.join(',');
}

function flagsOf(message: FetchMessageObject): string[] {
  return [...(message.flags ?? [])]
    .filter((flag) => flag.toLowerCase() !== '\\recent')
    .slice(0, MAX_FLAGS)
    .map((flag) => flag.slice(0, MAX_FLAG_LENGTH));
}

export class ActionSession extends ImapSession {
  private selected: string | undefined;
  private listOverflow = false;
  private copyUid: MovedMessages['copyUid'] = 'absent';

  constructor(options: ImapSessionOptions) {
    super(options);
    guardResponses(this.client, {
      maxListed: MAX_LISTED_FOLDERS,
      maxCopyUids: MAX_UIDS_PER_COMMAND,
      onCopyUid: (kept) => {
        if (this.copyUid !== 'malformed') this.copyUid = kept ? 'valid' : 'malformed';
      },
      onListOverflow: () => {
        this.listOverflow = true;
        this.close();
      },
    });
  }

  /** What the server offers that acting needs: MOVE (RFC 6851) and UID EXPUNGE (UIDPLUS, RFC 4315). */
  get capabilities(): { move: boolean; uidPlus: boolean } {
    const has = (name: string): boolean => this.client.capabilities.has(name) || this.client.capabilities.has('IMAP4rev2');
    return { move: has('MOVE'), uidPlus: has('UIDPLUS') };
  }

  /** Every folder (LIST), with its special use; at most MAX_LISTED_FOLDERS. */
  override async listFolders(): Promise<ImapFolder[]> {
    try {
      return await super.listFolders();
    } catch (err) {
      if (!this.listOverflow) throw err;
      const where = `${this.context.host}:${this.context.port}`;
      throw new AppError('imap_error', `${where} answered LIST with more than ${MAX_LISTED_FOLDERS} folders; the connection was dropped.`, {
        hint: 'No Exchange mailbox has that many folders: check the mailbox\'s IMAP host.',
        fields: { responseTooLarge: true },
        cause: err,
      });
    }
  }

  /** CREATE (and SUBSCRIBE, as Outlook shows subscribed folders); `created` false when it already existed. */
  async createFolder(path: string | string[]): Promise<{ path: string; created: boolean }> {
    const made = await this.run(`CREATE ${Array.isArray(path) ? path.join('/') : path}`, (client) => client.mailboxCreate(path));
    return { path: made.path, created: made.created };
  }

  /** STATUS MESSAGES UNSEEN of one folder. */
  async counts(path: string): Promise<FolderCounts> {
    const operation = `STATUS ${path}`;
    // A server may answer STATUS of the selected folder from the session's stale view (Dovecot does): NOOP first.
    if (this.selected === path) await this.run(`NOOP ${path}`, (client) => client.noop());
    this.takeRefusal();
    const status = await this.run(operation, (client) => client.status(path, { messages: true, unseen: true }));
    if (status === false) throw this.refused(operation, path);
    return { messages: status.messages ?? 0, unseen: status.unseen ?? 0 };
  }

  /** Opens a folder read-write (SELECT); a no-op when it is already the selected one. */
  async select(path: string): Promise<void> {
    if (this.selected === path && this.client.mailbox && this.client.mailbox.path === path) return;
    this.selected = undefined;
    await this.run(`SELECT ${path}`, (client) => client.mailboxOpen(path));
    this.selected = path;
  }

  /** Which of these UIDs the folder holds (UID SEARCH), ascending. */
  async existing(path: string, uids: readonly number[]): Promise<number[]> {
    await this.select(path);
    const wanted = new Set(uids);
    const operation = `SEARCH ${path}`;
    const found = await this.run(operation, (client) => client.search({ uid: uidSet(uids) }, { uid: true }));
    if (!Array.isArray(found)) throw this.refused(operation, path);
    // The server's answer is not trusted to stay within what was asked, be sorted or be unique.
    return [...new Set(found)].filter((uid) => wanted.has(uid)).sort((a, b) => a - b);
  }

  /** The flags of these UIDs (UID FETCH FLAGS); a UID the folder does not hold is absent. */
  async flags(path: string, uids: readonly number[]): Promise<Map<number, string[]>> {
    await this.select(path);
    const wanted = new Set(uids);
    return this.run(`FETCH ${path}`, async (client) => {
      const out = new Map<number, string[]>();
      for await (const message of client.fetch(uidSet(uids), { uid: true, flags: true }, { uid: true })) {
        if (wanted.has(message.uid)) out.set(message.uid, flagsOf(message));
      }
      return out;
    });
  }

  /** UID STORE +FLAGS / -FLAGS (silent) on these UIDs: one command per direction. */
  async store(path: string, uids: readonly number[], change: { add: readonly string[]; remove: readonly string[] }): Promise<void> {
    await this.select(path);
    const range = uidSet(uids);
    for (const [operation, flags] of [['add', change.add], ['remove', change.remove]] as const) {
      if (flags.length === 0) continue;
      const name = `STORE ${path} ${operation === 'add' ? '+' : '-'}FLAGS`;
      this.takeRefusal();
      const done = await this.run(name, (client) => (operation === 'add'
        ? client.messageFlagsAdd(range, [...flags], { uid: true, silent: true })
        : client.messageFlagsRemove(range, [...flags], { uid: true, silent: true })));
      if (!done) throw this.refused(name, path);
    }
  }

  /**
   * Moves these UIDs to `target`: UID MOVE where the server has MOVE; else UID COPY, then \Deleted and
   * UID EXPUNGE of exactly these UIDs (which needs UIDPLUS: refused without it).
   */
  async move(path: string, uids: readonly number[], target: string): Promise<MovedMessages> {
    await this.select(path);
    const range = uidSet(uids);
    const { move, uidPlus } = this.capabilities;
    if (!move && !uidPlus) throw this.unsupported('move messages', 'MOVE or UIDPLUS');
    const name = `${move ? 'MOVE' : 'COPY'} ${path} → ${target}`;
    this.takeRefusal();
    this.copyUid = 'absent';
    // Without MOVE imapflow's messageMove would COPY then expunge by itself: COPY here, expunge below.
    const result = await this.run(name, (client) => (move
      ? client.messageMove(range, target, { uid: true })
      : client.messageCopy(range, target, { uid: true })));
    if (!result) throw this.refused(name, path);
    const uidMap = result.uidMap && result.uidMap.size > 0 ? result.uidMap : undefined;
    if (!move) {
      try {
        await this.expunge(path, uids);
      } catch (err) {
        throw new AppError(err instanceof AppError ? err.code : 'imap_error',
          `The messages were copied to ${target} but could not be removed from ${path}: ${err instanceof Error ? err.message : String(err)}`, {
            hint: 'They are now in both folders: delete them from the source folder again (DELETE …?permanent=true).',
            fields: { copiedTo: target, ...(err instanceof AppError ? err.fields : {}) },
            cause: err,
          });
      }
    }
    // A COPYUID the guard kept but imapflow could not pair up is as good as malformed.
    const seen = this.copyUidSeen();
    return { uidMap, copyUid: uidMap === undefined && seen === 'valid' ? 'malformed' : seen };
  }

  /** Sets \Deleted on these UIDs and removes exactly them (UID EXPUNGE); other \Deleted messages stay. */
  async expunge(path: string, uids: readonly number[]): Promise<void> {
    await this.select(path);
    if (!this.capabilities.uidPlus) throw this.unsupported('remove single messages', 'UIDPLUS (UID EXPUNGE)');
    const name = `UID EXPUNGE ${path}`;
    this.takeRefusal();
    // With `uid` and UIDPLUS imapflow sends STORE +FLAGS (\Deleted) then UID EXPUNGE of this range only.
    const done = await this.run(name, (client) => client.messageDelete(uidSet(uids), { uid: true }));
    if (!done) throw this.refused(name, path);
  }

  /** What the guard saw of COPYUID since the last reset (a method: TypeScript would keep the reset's narrowing). */
  private copyUidSeen(): MovedMessages['copyUid'] {
    return this.copyUid;
  }

  /** The error of a command imapflow answered `false` for: its logged refusal, or a plain one. */
  private refused(operation: string, path: string): AppError {
    const refusal = this.takeRefusal();
    if (!this.client.usable) return this.translate({ code: 'EConnectionClosed' }, operation);
    return this.translate(refusal ?? { responseText: `the server refused ${operation.split(' ')[0] ?? 'the command'}`, path }, operation);
  }

  private unsupported(what: string, needs: string): AppError {
    const where = `${this.context.host}:${this.context.port}`;
    return new AppError('imap_unsupported', `${where} cannot ${what} safely: it lacks ${needs}.`, {
      hint: 'Exchange Online has MOVE and UIDPLUS. Without UID EXPUNGE, removing one message would also remove every message another client marked \\Deleted, so mailsync refuses.',
    });
  }
}

export function createActionSession(options: ImapSessionOptions): ActionSession {
  return new ActionSession({ limits: BOUNDED_RESPONSES, ...options });
}
