/**
 * The light IMAP imitation's mail: per mailbox user, Exchange's well-known folders, each with its
 * UIDVALIDITY, UIDNEXT and messages. Small on purpose: a mailbox is created on its first login or
 * delivery (as Exchange's exists, and Dovecot creates its on first access), holds only INBOX until
 * another folder gets mail, and a message is its raw bytes, a UID, a flag bitmask and a date: 10,000
 * mailboxes with a few messages each take a few MB.
 *
 * Listeners (the sessions that have a folder selected) hear of new mail at once.
 */

/** Exchange Online's folders (English locale), with their special use; separator `/`. */
export const EXCHANGE_FOLDERS: readonly { name: string; use?: string }[] = [
  { name: 'INBOX' },
  { name: 'Archive', use: '\\Archive' },
  { name: 'Deleted Items', use: '\\Trash' },
  { name: 'Drafts', use: '\\Drafts' },
  { name: 'Junk Email', use: '\\Junk' },
  { name: 'Sent Items', use: '\\Sent' },
];

export const FLAG_BITS = { '\\Seen': 1, '\\Answered': 2, '\\Flagged': 4, '\\Deleted': 8, '\\Draft': 16 } as const;
export type SystemFlag = keyof typeof FLAG_BITS;

export interface StoredMessage {
  uid: number;
  /** FLAG_BITS or'ed. */
  flags: number;
  /** INTERNALDATE, ms since the epoch. */
  internalDate: number;
  raw: Buffer;
}

/** Told of a change in a folder it listens to. */
export interface FolderListener {
  mailArrived(folder: Folder): void;
}

export class Folder {
  uidNext = 1;
  readonly messages: StoredMessage[] = [];
  /** Created on the first listener; most folders never have one. */
  listeners: Set<FolderListener> | undefined;

  constructor(readonly name: string, readonly uidValidity: number) {}

  add(raw: Buffer, internalDate: number, flags = 0): StoredMessage {
    const message = { uid: this.uidNext++, flags, internalDate, raw };
    this.messages.push(message);
    if (this.listeners) for (const listener of this.listeners) listener.mailArrived(this);
    return message;
  }

  listen(listener: FolderListener): void {
    (this.listeners ??= new Set()).add(listener);
  }

  unlisten(listener: FolderListener): void {
    this.listeners?.delete(listener);
    if (this.listeners?.size === 0) this.listeners = undefined;
  }
}

export class MailboxStore {
  private readonly mailboxes = new Map<string, Map<string, Folder>>();
  /** UIDVALIDITY of the next folder created: distinct per folder, as Exchange's are. */
  private nextValidity = Math.floor(Date.now() / 1000) % 1_000_000_000;

  /** The folder of `user` named `name` (case as Exchange: INBOX any case, others exact); undefined when it does not exist. */
  folder(user: string, name: string): Folder | undefined {
    const canonical = canonicalName(name);
    if (canonical === undefined) return undefined;
    const folders = this.mailboxOf(user);
    let folder = folders.get(canonical);
    if (!folder) {
      folder = new Folder(canonical, this.nextValidity++);
      folders.set(canonical, folder);
    }
    return folder;
  }

  /** Puts a message into a folder (INBOX by default); returns its UID. */
  deliver(user: string, raw: Buffer | string, options: { folder?: string; flags?: number; internalDate?: number } = {}): number {
    const folder = this.folder(user, options.folder ?? 'INBOX');
    if (!folder) throw new Error(`no folder ${options.folder ?? 'INBOX'}`);
    return folder.add(typeof raw === 'string' ? Buffer.from(raw) : raw, options.internalDate ?? Date.now(), options.flags ?? 0).uid;
  }

  /** Mailboxes that exist so far. */
  get size(): number {
    return this.mailboxes.size;
  }

  private mailboxOf(user: string): Map<string, Folder> {
    const key = user.toLowerCase();
    let folders = this.mailboxes.get(key);
    if (!folders) {
      folders = new Map();
      this.mailboxes.set(key, folders);
    }
    return folders;
  }
}

/** The stored name of a folder (INBOX case-insensitively), or undefined when Exchange has no such folder here. */
export function canonicalName(name: string): string | undefined {
  if (name.toUpperCase() === 'INBOX') return 'INBOX';
  return EXCHANGE_FOLDERS.some((f) => f.name === name) ? name : undefined;
}
