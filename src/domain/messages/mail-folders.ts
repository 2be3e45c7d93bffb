/**
 * A mailbox's folders: GET /v1/mailboxes/{id}/folders (LIST with special
 * uses, `watched` from the mailbox's configured folders, STATUS counts on
 * request) and POST /v1/mailboxes/{id}/folders (CREATE), on the pooled
 * session of action-sessions.ts.
 *
 * Counts cost one STATUS per folder, one after the other: one IMAP session
 * runs one command at a time, and opening more sessions to a mailbox to go
 * faster would spend Exchange's per-mailbox connection budget. They are
 * given for the first MAX_COUNTED folders only.
 */
import { AppError } from '../../errors/errors.js';
import type { ImapFolder } from '../../adapters/imap/session.js';
import { resolveFolder } from '../mailboxes/folders.js';
import type { MailboxRecord } from '../mailboxes/service.js';
import type { ActionSessionPort } from './action-ports.js';
import type { ActionSessions } from './action-sessions.js';
import { FOLDER_SEPARATOR, folderLevels } from './folder-path.js';

/** Folders whose counts one listing reads (one STATUS each). */
export const MAX_COUNTED = 1_000;

export interface FolderView {
  path: string;
  name: string;
  delimiter: string;
  specialUse: string | null;
  watched: boolean;
  messages?: number;
  unseen?: number;
}

const SELECTABLE = (folder: ImapFolder): boolean =>
  !folder.flags.some((flag) => ['\\noselect', '\\nonexistent'].includes(flag.toLowerCase()));

function viewOf(folder: ImapFolder, listed: readonly ImapFolder[], mailbox: MailboxRecord): FolderView {
  return {
    path: folder.path,
    name: folder.name,
    delimiter: folder.delimiter || FOLDER_SEPARATOR,
    specialUse: folder.specialUse ?? null,
    watched: mailbox.folders.some((wanted) => resolveFolder(listed, wanted)?.path === folder.path),
  };
}

export class MailFolders {
  constructor(private readonly sessions: ActionSessions) {}

  async list(mailboxId: string, options: { counts?: boolean | undefined } = {}): Promise<{ folders: FolderView[] }> {
    return this.sessions.use(mailboxId, async (session, mailbox) => {
      const listed = await this.sessions.listFolders(session);
      const folders = listed.map((folder) => viewOf(folder, listed, mailbox));
      if (options.counts) await this.addCounts(session, listed, folders);
      return { folders };
    });
  }

  async create(mailboxId: string, path: string): Promise<FolderView> {
    const levels = folderLevels(path);
    return this.sessions.use(mailboxId, async (session, mailbox) => {
      // Exchange's folder names are case-insensitive: "processed" exists when "Processed" does.
      if (resolveFolder(await this.sessions.listFolders(session), path)) throw folderExists(mailbox, path);
      const made = await session.createFolder(levels);
      if (!made.created) throw folderExists(mailbox, path);
      const listed = await this.sessions.listFolders(session);
      const folder = listed.find((f) => f.path === made.path) ?? resolveFolder(listed, path);
      if (!folder) {
        throw new AppError('imap_error', `${mailbox.imap.host} created the folder ${path} but does not list it.`, { fields: { folder: path } });
      }
      return viewOf(folder, listed, mailbox);
    });
  }

  private async addCounts(session: ActionSessionPort, listed: readonly ImapFolder[], views: FolderView[]): Promise<void> {
    let counted = 0;
    for (const [i, folder] of listed.entries()) {
      const view = views[i];
      if (!view || !SELECTABLE(folder)) continue;
      if (++counted > MAX_COUNTED) break;
      const counts = await session.counts(folder.path);
      view.messages = counts.messages;
      view.unseen = counts.unseen;
    }
  }
}

function folderExists(mailbox: Pick<MailboxRecord, 'email'>, path: string): AppError {
  return new AppError('folder_exists', `Mailbox ${mailbox.email} already has a folder ${path}.`, {
    hint: 'Folder names are case-insensitive on Exchange. Use the existing folder, or choose another name.',
    fields: { folder: path },
  });
}
