/**
 * What acting on mail needs from outside the domain: an IMAP session that
 * can change a mailbox (the adapter's ActionSession provides it), and a pool
 * that keeps such sessions logged in between requests (the adapter's
 * SessionPool). The composition root (wiring/mail.ts) injects both.
 */
import type { FolderCounts, MovedMessages } from '../../adapters/imap/action-session.js';
import type { ImapFolder, ImapSessionOptions } from '../../adapters/imap/session.js';
import type { AccessToken } from '../tokens/token-service.js';

export type { FolderCounts, MovedMessages } from '../../adapters/imap/action-session.js';

/** One logged-in IMAP session, used by one request at a time. */
export interface ActionSessionPort {
  readonly usable: boolean;
  readonly capabilities: { move: boolean; uidPlus: boolean };
  connect(): Promise<void>;
  listFolders(): Promise<ImapFolder[]>;
  createFolder(path: string | string[]): Promise<{ path: string; created: boolean }>;
  counts(path: string): Promise<FolderCounts>;
  /** Opens a folder read-write; a no-op when it is the selected one. */
  select(path: string): Promise<void>;
  existing(path: string, uids: readonly number[]): Promise<number[]>;
  flags(path: string, uids: readonly number[]): Promise<Map<number, string[]>>;
  store(path: string, uids: readonly number[], change: { add: readonly string[]; remove: readonly string[] }): Promise<void>;
  move(path: string, uids: readonly number[], target: string): Promise<MovedMessages>;
  expunge(path: string, uids: readonly number[]): Promise<void>;
  logout(): Promise<void>;
  /** Drops the connection at once. */
  close(): void;
}

/** Sessions kept per key (a mailbox id), as the adapter's SessionPool keeps them. */
export interface SessionPoolPort<S> {
  acquire(key: string, token: Pick<AccessToken, 'accessToken' | 'expiresAt'>, open: () => Promise<S>): Promise<{ session: S; reused: boolean }>;
  release(key: string, session: S, token: Pick<AccessToken, 'accessToken' | 'expiresAt'>, keep: boolean): void;
  drop(key: string): void;
}

export interface ActionPorts {
  openSession(options: ImapSessionOptions): ActionSessionPort;
}
