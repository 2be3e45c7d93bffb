/**
 * What a poll cycle needs from outside the domain: the schedule, a lock per
 * mailbox and permits per tenant (both across workers), and logged-in IMAP
 * sessions, kept between polls where the adapter can. The job layer and the
 * composition root pass the implementations in (jobs/polling/scheduler.ts,
 * store/lock.ts, store/semaphore.ts, adapters/imap/poll-sessions.ts).
 */
import type { ImapSessionOptions } from '../../adapters/imap/session.js';
import type { KeptLease, Lease } from '../../store/lock.js';
import type { Permit } from '../../store/semaphore.js';
import type { AccessToken } from '../tokens/token-service.js';
import type { MailSession } from './poller.js';
import type { TrackedWindow, WindowSummary } from './tracking.js';

export interface PollSchedulePort {
  /** The due time (ms) the mailbox is scheduled for; undefined when it is not scheduled. */
  dueOf(mailboxId: string): Promise<number | undefined>;
  /** `running`: the due of the poll running now, which reschedules itself (its trigger goes when it ends). */
  schedule(mailboxId: string, due: number, intervalMs?: number, running?: number): Promise<void>;
  /**
   * A poll's own next poll: `due` replaces `running` (the trigger that ran) only while `running` is
   * still the mailbox's due time; false when a pause, a deletion, a resume or "poll now" came first.
   */
  reschedule(mailboxId: string, running: number, due: number, intervalMs: number): Promise<boolean>;
  unschedule(mailboxId: string): Promise<void>;
  pollNow(mailboxId: string): Promise<void>;
}

/**
 * One poller per mailbox across every worker: the mailbox's poll lock, taken for one trigger of
 * its schedule only while that trigger is still its due time (`stale` otherwise, `busy` while
 * another worker holds it), kept alive while held.
 */
export interface MailboxLocks {
  claim(mailboxId: string, due: number, ttlMs: number): Promise<Lease | 'busy' | 'stale'>;
  /**
   * The claim, and `read` run after it (under the lock when it is taken), sent together where the
   * store can keep their order; `value`, the read's answer, when the claim is a lease (a failed
   * read gives the lock back and throws).
   */
  claimThenRead<T>(mailboxId: string, due: number, ttlMs: number, read: () => Promise<T>): Promise<{ claim: Lease | 'busy' | 'stale'; value?: T }>;
  keep(lease: Lease, ttlMs: number): KeptLease;
  release(lease: Lease): Promise<boolean>;
}

/** When each mailbox's last poll was recorded (the view's lastPollAt; store/poll-marks.ts). */
export interface PollMarksPort {
  mark(mailboxId: string, at: number): Promise<void>;
}

/** At most `limit` holders per key across every worker. */
export interface TenantPermits {
  acquire(key: string, limit: number, leaseMs: number): Promise<Permit | undefined>;
  release(permit: Permit): Promise<void>;
}

/** A session one poll works with; `close` ends it at once (a deadline, a lost lock). */
/** What an idling session heard: new mail, or a message's flags changed or the message gone. */
export type MailActivity = 'mail' | 'change';

export interface PollMailSession extends MailSession {
  close(): void;
}

/** Logged-in IMAP sessions per mailbox: kept between polls (and idling) where the adapter can. */
export interface PollSessions {
  /**
   * A session of this mailbox, pooled (while its token lives) or new, logged in with `login`;
   * `using` is told of it as soon as it exists. `done(keep)` gives it back: kept for the next poll
   * when `keep`, closed otherwise.
   */
  open(
    mailboxId: string, login: ImapSessionOptions, token: AccessToken, using: (session: PollMailSession) => void,
  ): Promise<{ session: PollMailSession; done(keep: boolean): void }>;
  /** Closes the mailbox's kept session, if any (the mailbox is gone). */
  drop(mailboxId: string): void;
  /**
   * Calls `onActivity` when the mailbox's kept session, idling on `folder` (IMAP IDLE), hears of
   * new mail (`mail`) or of a message changed or gone (`change`), also while a poll uses the session;
   * false when none is kept. `uidNext`, the folder's UIDNEXT as the last poll saw it: mail that came
   * after it and before the session idles is reported too.
   */
  listen(mailboxId: string, folder: string, onActivity: (kind: MailActivity) => void, uidNext?: number): boolean;
}

/** The tracked windows of followed folders (issue 16), one compact value per mailbox folder. */
export interface TrackedWindows {
  /** The stored window, or undefined when there is none (or it could not be read: a new baseline). */
  load(mailboxId: string, folder: string): Promise<TrackedWindow | undefined>;
  /** The stored window's header alone (cheap), or undefined when there is none or it has none. */
  summary?(mailboxId: string, folder: string): Promise<WindowSummary | undefined>;
  save(mailboxId: string, folder: string, window: TrackedWindow): Promise<void>;
  /** Forgets the windows of these folders (the mailbox is gone). */
  remove(mailboxId: string, folders: readonly string[]): Promise<void>;
}
