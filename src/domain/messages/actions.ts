/**
 * Acting on messages: flags, move, delete (to \Trash or for good), and the
 * bulk form of each, by UID, on the pooled session of action-sessions.ts.
 *
 * - A UID the folder does not hold is `message_not_found` (one message) or
 *   listed in `missing` (bulk): which UIDs exist is asked first (one UID
 *   SEARCH), and the changes are one command each over the set of those
 *   that do, never one per message.
 * - A message another client expunges between that SEARCH and the change
 *   is found out where the answer says so: a MOVE's COPYUID leaves it out
 *   (RFC 4315: a server with UIDPLUS names what it copied), and a flag change
 *   is read back. It is then missing, not done.
 * - Deleting moves to the folder whose special use is \Trash (Exchange's
 *   "Deleted Items"), as Outlook does; `permanent` sets \Deleted and removes
 *   exactly these UIDs (UID EXPUNGE), never other messages another client
 *   flagged \Deleted. A server without UIDPLUS is refused that.
 * - A bulk request whose second action fails after the first succeeded
 *   answers the failure with what was done (`completedActions`, `done`):
 *   nothing is left half-done without being said.
 */
import { AppError, ValidationError } from '../../errors/errors.js';
import type { MailboxRecord } from '../mailboxes/service.js';
import type { ActionSessionPort } from './action-ports.js';
import type { ActionSessions } from './action-sessions.js';

export interface FlagChange {
  seen?: boolean | undefined;
  flagged?: boolean | undefined;
  answered?: boolean | undefined;
}

export interface BulkRequest {
  folder: string;
  uids: number[];
  seen?: boolean | undefined;
  flagged?: boolean | undefined;
  moveTo?: string | undefined;
  delete?: true | 'permanent' | undefined;
}

export interface FlagsResult {
  folder: string;
  uid: number;
  flags: string[];
}

export interface MoveResult {
  folder: string;
  uid: number | null;
}

export interface BulkResult {
  done: number[];
  missing: number[];
}

const FLAG_NAMES = { seen: '\\Seen', flagged: '\\Flagged', answered: '\\Answered' } as const;

function flagChange(change: FlagChange): { add: string[]; remove: string[] } {
  const add: string[] = [];
  const remove: string[] = [];
  for (const [key, flag] of Object.entries(FLAG_NAMES) as [keyof FlagChange, string][]) {
    const value = change[key];
    if (value === true) add.push(flag);
    else if (value === false) remove.push(flag);
  }
  return { add, remove };
}

/** What a move did: the UIDs moved, with their UIDs in the target when the server said. */
interface Moved {
  moved: number[];
  uidOf: (uid: number) => number | null;
}

export class MessageActions {
  constructor(private readonly sessions: ActionSessions) {}

  async setFlags(mailboxId: string, uid: number, folder: string, change: FlagChange): Promise<FlagsResult> {
    return this.sessions.use(mailboxId, async (session, mailbox) => {
      const path = await this.source(session, mailbox, folder);
      await session.store(path, [uid], flagChange(change));
      // Read back: the flags as the server has them now, and a UID it does not hold (STORE says nothing of it).
      const flags = (await session.flags(path, [uid])).get(uid);
      if (!flags) throw messageNotFound(path, uid);
      return { folder: path, uid, flags };
    });
  }

  /** Adds one flag or keyword (a sent reply's \Answered, a forward's $Forwarded); not found when the message is gone. */
  async addFlag(mailboxId: string, uid: number, folder: string, flag: string): Promise<void> {
    await this.sessions.use(mailboxId, async (session, mailbox) => {
      const path = await this.source(session, mailbox, folder);
      await session.store(path, [uid], { add: [flag], remove: [] });
    });
  }

  async move(mailboxId: string, uid: number, folder: string, to: string): Promise<MoveResult> {
    return this.sessions.use(mailboxId, async (session, mailbox) => {
      const path = await this.source(session, mailbox, folder);
      const target = await this.sessions.folderPath(session, mailbox, to);
      if (target === path) throw sameFolder(path);
      await this.mustExist(session, path, uid);
      const { moved, uidOf } = await this.moveUids(session, path, [uid], target);
      if (!moved.includes(uid)) throw messageNotFound(path, uid);
      return { folder: target, uid: uidOf(uid) };
    });
  }

  /** To \Trash (answers where it went), or for good with `permanent` (answers undefined). */
  async delete(mailboxId: string, uid: number, folder: string, permanent: boolean): Promise<MoveResult | undefined> {
    return this.sessions.use(mailboxId, async (session, mailbox) => {
      const path = await this.source(session, mailbox, folder);
      if (permanent) {
        await this.mustExist(session, path, uid);
        await session.expunge(path, [uid]);
        return undefined;
      }
      const trash = await this.trash(session, mailbox, path);
      await this.mustExist(session, path, uid);
      const { moved, uidOf } = await this.moveUids(session, path, [uid], trash);
      if (!moved.includes(uid)) throw messageNotFound(path, uid);
      return { folder: trash, uid: uidOf(uid) };
    });
  }

  async bulk(mailboxId: string, request: BulkRequest): Promise<BulkResult> {
    if (request.seen === undefined && request.flagged === undefined && request.moveTo === undefined && request.delete === undefined) {
      throw new ValidationError('The request must name an action: seen, flagged, moveTo or delete.', [{ field: '', message: 'must name at least one action' }]);
    }
    if (request.moveTo !== undefined && request.delete !== undefined) {
      throw new ValidationError('delete cannot go with moveTo.', [{ field: '/delete', message: 'must not be given with moveTo' }]);
    }
    return this.sessions.use(mailboxId, async (session, mailbox) => {
      const path = await this.source(session, mailbox, request.folder);
      const target = request.moveTo !== undefined ? await this.sessions.folderPath(session, mailbox, request.moveTo) : undefined;
      if (target === path) throw sameFolder(path);
      const trash = request.delete === true ? await this.trash(session, mailbox, path) : undefined;
      const asked = [...new Set(request.uids)].sort((a, b) => a - b);
      let present = await session.existing(path, asked);
      const completed: string[] = [];
      const step = async (action: string, run: () => Promise<void>): Promise<void> => {
        if (present.length === 0) return;
        try {
          await run();
          completed.push(action);
        } catch (err) {
          throw partlyDone(err, action, completed, present);
        }
      };
      const flags = flagChange({ seen: request.seen, flagged: request.flagged });
      if (flags.add.length + flags.remove.length > 0) {
        await step(Object.keys(FLAG_NAMES).filter((k) => request[k as keyof BulkRequest] !== undefined).join('+'), () => session.store(path, present, flags));
      }
      const destination = target ?? trash;
      if (destination !== undefined) {
        await step(target !== undefined ? 'moveTo' : 'delete', async () => {
          present = (await this.moveUids(session, path, present, destination)).moved;
        });
      } else if (request.delete === 'permanent') {
        await step('delete', () => session.expunge(path, present));
      }
      const done = new Set(present);
      return { done: present, missing: asked.filter((uid) => !done.has(uid)) };
    });
  }

  /** The source folder's path, selected (a folder deleted since LIST is folder_not_found from here). */
  private async source(session: ActionSessionPort, mailbox: MailboxRecord, wanted: string): Promise<string> {
    const path = await this.sessions.folderPath(session, mailbox, wanted);
    await session.select(path);
    return path;
  }

  private async trash(session: ActionSessionPort, mailbox: MailboxRecord, path: string): Promise<string> {
    const trash = await this.sessions.folderPath(session, mailbox, '\\Trash').catch((err: unknown) => {
      if (!(err instanceof AppError && err.code === 'folder_not_found')) throw err;
      throw new AppError('folder_not_found', `Mailbox ${mailbox.email} has no folder with the special use \\Trash to delete to.`, {
        hint: 'Delete for good with ?permanent=true (or "delete": "permanent"), or move the messages to a folder of your choice.',
        fields: { folder: '\\Trash' },
        cause: err,
      });
    });
    if (trash === path) {
      throw new AppError('conflict', `The messages are in ${path} already, the \\Trash folder.`, {
        hint: 'Delete them for good with ?permanent=true (or "delete": "permanent").',
      });
    }
    return trash;
  }

  private async mustExist(session: ActionSessionPort, path: string, uid: number): Promise<void> {
    if ((await session.existing(path, [uid])).length === 0) throw messageNotFound(path, uid);
  }

  private async moveUids(session: ActionSessionPort, path: string, uids: number[], target: string): Promise<Moved> {
    const { uidMap, copyUid } = await session.move(path, uids, target);
    if (uidMap) {
      return { moved: uids.filter((uid) => uidMap.has(uid)), uidOf: (uid) => uidMap.get(uid) ?? null };
    }
    // No COPYUID from a server with UIDPLUS: it copied nothing (the messages were expunged meanwhile).
    if (copyUid === 'absent' && session.capabilities.uidPlus) return { moved: [], uidOf: () => null };
    // Malformed (removed unread), or a server that never says: moved, target UIDs unknown.
    return { moved: uids, uidOf: () => null };
  }
}

function messageNotFound(path: string, uid: number): AppError {
  return new AppError('message_not_found', `Folder ${path} has no message with UID ${uid}.`, {
    hint: 'UIDs are those of GET /v1/mailboxes/{id}/messages for the same folder; a message moved or deleted since has none.',
    fields: { folder: path, uid },
  });
}

function sameFolder(path: string): AppError {
  return new AppError('validation_failed', `The messages are in ${path} already.`, {
    fields: { errors: [{ field: '/to', message: 'must name another folder than the source' }] },
  });
}

/** A bulk action failed after others succeeded: the same error, saying what was done. */
function partlyDone(err: unknown, action: string, completed: readonly string[], uids: readonly number[]): unknown {
  if (completed.length === 0 || !(err instanceof AppError)) return err;
  return new AppError(err.code, `${err.detail} (${action} failed after ${completed.join(', ')} succeeded on the messages in done.)`, {
    hint: err.hint,
    step: err.step,
    fields: { ...err.fields, completedActions: [...completed], failedAction: action, done: [...uids] },
    cause: err,
  });
}
