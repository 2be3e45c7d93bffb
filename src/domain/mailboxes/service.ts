/**
 * Mailboxes: one email account watched and sent from through a connection.
 * An app-only mailbox is active at once; a delegated one waits for its user
 * to sign in (pending_authorization). Deleting a mailbox removes every trace
 * of it, its delegated token cache included; hooks let polling remove its own.
 */
import type { HostAllowlist } from '../../config/host-allowlist.js';
import { assertMailServersAllowed, checkMailServersInput } from '../hosts/host-policy.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../errors/errors.js';
import type { JsonStore } from '../../store/json-store.js';
import type { ConnectionService } from '../connections/service.js';
import { newId } from '../ids.js';
import type { FolderCursor } from '../polling/cursor.js';
import { DEFAULT_PAGE_LIMIT, invalidCursor, type PageT } from '../paging.js';
import { mailboxFilter, type MailboxListQueryT } from './list.js';
import { mailboxSignInAs, mailboxTenant } from './tenant.js';
import { watchFolders } from './watched-folders.js';
import type {
  CreateMailboxInput, LastErrorT, MailboxStateT, MailboxViewT, ServerOverrideT, UpdateMailboxInput,
} from './model.js';
import { trackSettings, trackView, type TrackRecord } from './track.js';

export const DEFAULT_IMAP: ServerOverrideT = { host: 'outlook.office365.com', port: 993, secure: true };
export const DEFAULT_SMTP: ServerOverrideT = { host: 'smtp.office365.com', port: 587, secure: false };
export const DEFAULT_POLL_INTERVAL_SECONDS = 60;

export interface DelegatedAccountRecord {
  homeAccountId: string;
  username: string;
  oid: string;
  tenantId: string;
  authorizedAt: string;
}

export interface MailboxRecord {
  id: string;
  connectionId: string;
  /** The mailbox's Entra tenant: the connection's, or the signed-in user's for a multi-tenant app. */
  tenantId?: string | null;
  flow: 'app_only' | 'delegated';
  /** The mailbox opened over IMAP and SMTP (the SASL `user=`). */
  email: string;
  /** Delegated shared mailbox: the agent who signs in (whose token opens `email`); absent or null: `email` itself. */
  signInAs?: string | null;
  folders: string[];
  pollIntervalSeconds: number;
  imap: ServerOverrideT;
  smtp: ServerOverrideT;
  state: MailboxStateT;
  account: DelegatedAccountRecord | null;
  lastPollAt: string | null;
  nextPollAt: string | null;
  lastError: LastErrorT | null;
  folderState: Record<string, FolderCursor>;
  /** When each folder added after the mailbox (PATCH) began to be watched; the others since createdAt. */
  folderSince?: Record<string, string>;
  /** Following changes (message.updated / message.deleted); absent: off. */
  track?: TrackRecord;
  /** Consecutive failed polls (for the back-off); not part of the view. */
  failures?: number;
  createdAt: string;
  updatedAt: string;
}

export interface MailboxServiceDeps {
  store: JsonStore<MailboxRecord>;
  connections: ConnectionService;
  minPollIntervalSeconds: number;
  connectionMailboxesKey: (connectionId: string) => string;
  now?: () => Date;
  /** Called after a mailbox is gone, to remove what other modules keep for it. */
  onDeleted?: (mailbox: MailboxRecord) => Promise<void>;
  /** Where access tokens may be sent: the IMAP and SMTP hosts allowed (MAIL_HOST_ALLOWLIST). */
  mailHosts: HostAllowlist;
  /** When mailboxes were last polled and are due next (polling keeps both; the views show them). */
  pollTimes?: PollTimes;
}

/**
 * When each mailbox's last poll was recorded and when its next is due (ms), in the order asked;
 * undefined where there is none (never polled; not scheduled: paused, waiting for a sign-in).
 * Polling keeps them outside the records (the schedule, the poll marks), so a poll that changes
 * nothing else writes nothing to the record (issue 19).
 */
export interface PollTimes {
  of(ids: readonly string[]): Promise<{ lastPollAt: number | undefined; nextPollAt: number | undefined }[]>;
}

/**
 * What other modules (polling) learn of a mailbox's life. A listener that
 * fails fails the request: a mailbox whose poll could not be scheduled is
 * caught by the poll sweeper anyway, so listeners may be best-effort inside.
 */
export interface MailboxListener {
  created?(mailbox: MailboxRecord): Promise<void>;
  authorized?(mailbox: MailboxRecord): Promise<void>;
  paused?(mailbox: MailboxRecord): Promise<void>;
  resumed?(mailbox: MailboxRecord): Promise<void>;
  deleted?(mailbox: MailboxRecord): Promise<void>;
}

export function toMailboxView(record: MailboxRecord): MailboxViewT {
  return {
    id: record.id,
    connectionId: record.connectionId,
    email: record.email,
    tenantId: record.tenantId ?? null,
    signInAs: record.signInAs ?? null,
    flow: record.flow,
    folders: record.folders,
    pollIntervalSeconds: record.pollIntervalSeconds,
    imap: record.imap,
    smtp: record.smtp,
    track: trackView(record.track),
    state: record.state,
    account: record.account ? { username: record.account.username, authorizedAt: record.account.authorizedAt } : null,
    lastPollAt: record.lastPollAt,
    nextPollAt: record.nextPollAt,
    lastError: record.lastError,
    folderState: record.folderState,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

const waitsForSignIn = (m: MailboxRecord): boolean => m.flow === 'delegated' && !m.account;

/** The state of a mailbox let run again: waiting for its user's first sign-in, or active. */
const runningState = (m: MailboxRecord): MailboxRecord['state'] => (waitsForSignIn(m) ? 'pending_authorization' : 'active');

export class MailboxService {
  private readonly now: () => Date;
  private readonly listeners: MailboxListener[] = [];

  constructor(private readonly deps: MailboxServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    if (deps.onDeleted) this.listeners.push({ deleted: deps.onDeleted });
  }

  /** Lets another module follow mailboxes being created, signed in, paused, resumed and deleted. */
  listen(listener: MailboxListener): void {
    this.listeners.push(listener);
  }

  private async notify(event: keyof MailboxListener, mailbox: MailboxRecord): Promise<void> {
    for (const listener of this.listeners) await listener[event]?.(mailbox);
  }

  /** The record as the listeners left it, with its poll times (polling schedules the next poll). */
  private async reread(record: MailboxRecord): Promise<MailboxRecord> {
    return this.withPollTimes((await this.deps.store.get(record.id)) ?? record);
  }

  /**
   * The records with lastPollAt and nextPollAt as polling keeps them: the last poll recorded (a
   * record from before polls were marked keeps its own until its next poll), and the due time of
   * the next, or null when none is scheduled.
   */
  private async withPollTimes(record: MailboxRecord): Promise<MailboxRecord>;
  private async withPollTimes(records: MailboxRecord[]): Promise<MailboxRecord[]>;
  private async withPollTimes(records: MailboxRecord | MailboxRecord[]): Promise<MailboxRecord | MailboxRecord[]> {
    const list = Array.isArray(records) ? records : [records];
    const { pollTimes } = this.deps;
    if (!pollTimes || list.length === 0) return records;
    const times = await pollTimes.of(list.map((r) => r.id));
    const shown = list.map((record, i) => {
      const { lastPollAt, nextPollAt } = times[i] ?? { lastPollAt: undefined, nextPollAt: undefined };
      return {
        ...record,
        lastPollAt: lastPollAt === undefined ? record.lastPollAt : new Date(lastPollAt).toISOString(),
        nextPollAt: nextPollAt === undefined ? null : new Date(nextPollAt).toISOString(),
      };
    });
    return Array.isArray(records) ? shown : shown[0]!;
  }

  private checkInterval(seconds: number): void {
    if (seconds < this.deps.minPollIntervalSeconds) {
      throw new ValidationError(
        `pollIntervalSeconds must be at least ${this.deps.minPollIntervalSeconds}.`,
        [{ field: '/pollIntervalSeconds', message: `must be >= ${this.deps.minPollIntervalSeconds} (POLL_MIN_INTERVAL_SECONDS)` }],
        'Microsoft throttles mailboxes polled too often; choose a longer interval.',
      );
    }
  }

  async create(input: CreateMailboxInput): Promise<MailboxRecord> {
    const connection = await this.deps.connections.record(input.connectionId).catch((err: unknown) => {
      if (err instanceof NotFoundError) {
        throw new ValidationError(`Connection ${input.connectionId} does not exist.`, [{ field: '/connectionId', message: 'no such connection' }]);
      }
      throw err;
    });
    const pollIntervalSeconds = input.pollIntervalSeconds ?? Math.max(DEFAULT_POLL_INTERVAL_SECONDS, this.deps.minPollIntervalSeconds);
    this.checkInterval(pollIntervalSeconds);
    const tenantId = mailboxTenant(connection, input);
    const signInAs = mailboxSignInAs(connection, input);
    checkMailServersInput({ imap: input.imap ?? DEFAULT_IMAP, smtp: input.smtp ?? DEFAULT_SMTP }, this.deps.mailHosts);
    const at = this.now().toISOString();
    const record: MailboxRecord = {
      id: newId('mbx'),
      connectionId: connection.id,
      tenantId,
      flow: connection.flow,
      email: input.email.toLowerCase(),
      ...(signInAs ? { signInAs } : {}),
      folders: input.folders ?? ['INBOX'],
      pollIntervalSeconds,
      imap: input.imap ?? DEFAULT_IMAP,
      smtp: input.smtp ?? DEFAULT_SMTP,
      state: connection.flow === 'app_only' ? 'active' : 'pending_authorization',
      account: null,
      lastPollAt: null,
      nextPollAt: null,
      lastError: null,
      folderState: {},
      ...(input.track ? { track: trackSettings(undefined, input.track, at) } : {}),
      createdAt: at,
      updatedAt: at,
    };
    const result = await this.deps.store.create(record);
    if (result === 'taken') {
      throw new ConflictError(`${record.email} is already a mailbox of connection ${connection.id}.`);
    }
    await this.notify('created', record);
    return this.reread(record);
  }

  /** A page of mailboxes, filtered from the store's terms index (list.ts), never a walk over the others. */
  async page(query: MailboxListQueryT): Promise<PageT<MailboxRecord>> {
    const { term, where } = mailboxFilter(query);
    const page = await this.deps.store.page({ limit: query.limit ?? DEFAULT_PAGE_LIMIT, cursor: query.cursor, term, where });
    if (page === 'invalid_cursor') throw invalidCursor();
    return { items: await this.withPollTimes(page.records), nextCursor: page.nextCursor };
  }

  /** The mailbox as the views show it, its poll times included. */
  async get(id: string): Promise<MailboxRecord> {
    const record = await this.deps.store.get(id);
    if (!record) throw new NotFoundError('Mailbox', id);
    return this.withPollTimes(record);
  }

  async update(id: string, patch: UpdateMailboxInput): Promise<MailboxRecord> {
    if (patch.pollIntervalSeconds !== undefined) this.checkInterval(patch.pollIntervalSeconds);
    checkMailServersInput(patch, this.deps.mailHosts);
    let cleared = false;
    const updated = await this.change(id, (current) => {
      const at = this.now().toISOString();
      const { track, ...rest } = patch;
      const next: MailboxRecord = {
        ...current,
        ...rest,
        ...(patch.folders ? watchFolders(current, patch.folders, at) : {}),
        ...(track ? { track: trackSettings(current.track, track, at) } : {}),
      };
      // New servers clear a mailbox stopped for servers off the list; it polls again at once.
      cleared = (patch.imap !== undefined || patch.smtp !== undefined) && current.lastError?.code === 'host_not_allowed';
      if (!cleared) return next;
      return { ...next, state: current.state === 'auth_error' ? runningState(current) : current.state, lastError: null, failures: 0 };
    });
    if (!cleared) return this.withPollTimes(updated);
    await this.notify('resumed', updated);
    return this.reread(updated);
  }

  /** Refuses (host_not_allowed) when the mailbox's IMAP or SMTP server is off MAIL_HOST_ALLOWLIST: no token goes there. */
  assertServersAllowed(mailbox: MailboxRecord): void {
    assertMailServersAllowed(mailbox, this.deps.mailHosts);
  }

  /** Applies a change made by the service itself (state, cursors, sign-in); answers the record as stored (no poll times). */
  async change(id: string, change: (current: MailboxRecord) => MailboxRecord): Promise<MailboxRecord> {
    const updated = await this.deps.store.update(id, (current) => ({ ...change(current), updatedAt: this.now().toISOString() }));
    if (!updated) throw new NotFoundError('Mailbox', id);
    return updated;
  }

  /** `check` sees the record about to be changed and may refuse the sign-in by throwing. */
  async markAuthorized(id: string, account: Omit<DelegatedAccountRecord, 'authorizedAt'>, check?: (current: MailboxRecord) => void): Promise<MailboxRecord> {
    const updated = await this.change(id, (current) => {
      if (current.flow !== 'delegated') throw new AppError('conflict', `Mailbox ${id} uses an app-only connection.`);
      check?.(current);
      // A renewed sign-in clears an auth_error; a paused mailbox stays paused until resumed.
      const state = current.state === 'paused' ? 'paused' : 'active';
      return { ...current, tenantId: current.tenantId ?? account.tenantId, account: { ...account, authorizedAt: this.now().toISOString() }, state, lastError: null };
    });
    await this.notify('authorized', updated);
    return this.reread(updated);
  }

  /** Stops polling the mailbox until it is resumed. */
  async pause(id: string): Promise<MailboxRecord> {
    const updated = await this.change(id, (current) => ({ ...current, state: 'paused', nextPollAt: null }));
    await this.notify('paused', updated);
    return this.withPollTimes(updated);
  }

  /** Polls again: active, or waiting for its user's sign-in when it has none. */
  async resume(id: string): Promise<MailboxRecord> {
    const updated = await this.change(id, (current) => ({
      ...current,
      state: current.state === 'paused' || waitsForSignIn(current) ? runningState(current) : current.state,
      failures: 0,
    }));
    await this.notify('resumed', updated);
    return this.reread(updated);
  }

  async delete(id: string): Promise<void> {
    const record = await this.get(id);
    if (!(await this.deps.store.delete(id))) throw new NotFoundError('Mailbox', id);
    await this.notify('deleted', record);
  }

  /** How many mailboxes there are, and in each state: counters the store keeps, no walk over the records. */
  async counts(): Promise<{ total: number; byState: Record<string, number> }> {
    const [total, byState] = await Promise.all([this.deps.store.count(), this.deps.store.counts()]);
    return { total, byState };
  }

  async countForConnection(connectionId: string): Promise<number> {
    return (await this.idsOfConnection(connectionId)).length;
  }

  async idsOfConnection(connectionId: string): Promise<string[]> {
    return this.deps.store.groupMembers(this.deps.connectionMailboxesKey(connectionId));
  }

  /** The mailbox record as stored (no poll times: polling's own read), or undefined when it is gone. */
  async find(id: string): Promise<MailboxRecord | undefined> {
    return this.deps.store.get(id);
  }
}
