/**
 * Since when each folder of a mailbox is watched, which is where its first
 * poll starts announcing: the folders given at creation since the mailbox
 * was added, a folder added by PATCH since then (`folderSince`). A folder
 * no longer watched loses its cursor and start, so watching it again starts
 * afresh.
 */
import type { MailboxRecord } from './service.js';

/** Since when a folder is watched: since it was added to the mailbox, or since the mailbox was. */
export function watchedSince(mailbox: Pick<MailboxRecord, 'createdAt' | 'folderSince'>, folder: string): Date {
  return new Date(mailbox.folderSince?.[folder] ?? mailbox.createdAt);
}

/**
 * The folder cursors and start times after the watched folders become `folders` at `at`: a folder
 * added now is watched from now (mail already in it is not announced, mail that comes before its
 * first poll is); a folder no longer watched loses its cursor, so watching it again starts afresh.
 */
export function watchFolders(current: Pick<MailboxRecord, 'folders' | 'folderState' | 'folderSince'>, folders: readonly string[], at: string): Pick<MailboxRecord, 'folderState' | 'folderSince'> {
  const added = new Set(folders.filter((f) => !current.folders.includes(f)));
  const kept = (f: string): boolean => folders.includes(f) && !added.has(f);
  return {
    folderState: Object.fromEntries(Object.entries(current.folderState).filter(([f]) => kept(f))),
    folderSince: {
      ...Object.fromEntries(Object.entries(current.folderSince ?? {}).filter(([f]) => kept(f))),
      ...Object.fromEntries([...added].map((f) => [f, at])),
    },
  };
}
