/**
 * A mailbox as the domain takes and shows it: what creating and changing one
 * asks for, its state, its last error, and the view clients get. The wire
 * schemas (http/schemas/mailboxes.ts) describe the same shapes to clients and
 * are checked against these types when the project compiles.
 */
import type { Flow } from '../connections/model.js';
import type { FolderCursor } from '../polling/cursor.js';

/** An IMAP or SMTP server in place of Microsoft's. */
export interface ServerOverrideT {
  host: string;
  port: number;
  /** true: implicit TLS; false: STARTTLS (required). */
  secure: boolean;
}

export const TRACK_WINDOW_DEFAULT = 1_000;
export const TRACK_WINDOW_MAX = 10_000;

/** What `track` asks for; omitted members keep their current value (defaults: off, 1,000). */
export interface TrackInputT {
  /** Announce flag changes as message.updated. */
  flags?: boolean;
  /** Announce messages that leave a watched folder as message.deleted. */
  deletions?: boolean;
  /** The newest messages of each watched folder that are followed. */
  window?: number;
}

export interface TrackViewT {
  flags: boolean;
  deletions: boolean;
  window: number;
}

export type MailboxStateT = 'active' | 'pending_authorization' | 'auth_error' | 'throttled' | 'error' | 'paused';

export interface CreateMailboxInput {
  connectionId: string;
  email: string;
  /** The mailbox's tenant: required on a multi-tenant app_only connection (see tenant.ts). */
  tenantId?: string;
  /** Delegated: the agent who signs in for the shared mailbox `email`. */
  signInAs?: string;
  /** Folder names or special uses (\Sent, \Junk…); INBOX when absent. */
  folders?: string[];
  pollIntervalSeconds?: number;
  imap?: ServerOverrideT;
  smtp?: ServerOverrideT;
  track?: TrackInputT;
}

export interface UpdateMailboxInput {
  /** A folder added is watched from now; a folder removed loses its cursor. */
  folders?: string[];
  pollIntervalSeconds?: number;
  imap?: ServerOverrideT;
  smtp?: ServerOverrideT;
  track?: TrackInputT;
}

export interface LastErrorT {
  code: string;
  detail: string;
  hint?: string;
  setupStep?: string;
  /** Why mailsync keeps retrying, e.g. a connection changed moments ago. */
  note?: string;
  at: string;
}

export interface MailboxViewT {
  id: string;
  connectionId: string;
  email: string;
  tenantId: string | null;
  signInAs: string | null;
  flow: Flow;
  folders: string[];
  pollIntervalSeconds: number;
  imap: ServerOverrideT;
  smtp: ServerOverrideT;
  track: TrackViewT;
  state: MailboxStateT;
  /** Delegated mailboxes awaiting sign-in. */
  authorizeUrl?: string;
  account: { username: string; authorizedAt: string } | null;
  lastPollAt: string | null;
  nextPollAt: string | null;
  lastError: LastErrorT | null;
  folderState: Record<string, FolderCursor>;
  createdAt: string;
  updatedAt: string;
}
