/**
 * Authenticated IMAP sessions kept open between polls, one per mailbox, so a
 * poll costs a STATUS round trip instead of a TLS handshake and a login.
 *
 * - A session is reused only while the token it logged in with has more than
 *   `renewBeforeMs` to live; after that it is closed and a new one logs in
 *   with a fresh token (Exchange sessions do not outlive their token for long).
 * - Sessions idle longer than `idleMs` are closed; the pool holds at most
 *   `maxOpen`, and when it is full a new session is not kept (polls go round
 *   the mailboxes in a cycle, for which evicting the least recently used
 *   would make every poll miss; refusing admission keeps `maxOpen` hits).
 * - A session that failed is dropped, never handed out again.
 * - A kept session is parked (its inactivity timeout off) until it is handed out again: an IMAP
 *   session quiet for longer than its socket timeout is otherwise ended by imapflow.
 *
 * Generic over the session kind: the workers pool PollSessions, the API
 * process pools the sessions that act on mail (wiring/mail.ts).
 */
import type { PollSession } from './poll-session.js';

/** What the pool needs of a session: whether it still works, and a way to end it. */
export interface PoolableSession {
  readonly usable: boolean;
  logout(): Promise<void>;
  /** Told when the session is kept unused (its inactivity timeout off: ImapSession.park), and when it is used again. */
  park?(): void;
  unpark?(): void;
}

export interface PooledToken {
  accessToken: string;
  expiresAt: Date;
}

interface Entry<S> {
  session: S;
  tokenExpiresAt: number;
  lastUsed: number;
  busy: boolean;
}

export interface SessionPoolOptions {
  maxOpen: number;
  idleMs: number;
  renewBeforeMs: number;
  now?: () => number;
  /** Told when the number of open sessions changes. */
  onSize?: (size: number) => void;
}

export class SessionPool<S extends PoolableSession = PollSession> {
  private readonly entries = new Map<string, Entry<S>>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: SessionPoolOptions) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(1_000, Math.min(options.idleMs, 30_000)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /** A usable pooled session for `key`, or a new one from `open`. The caller must `release` it. */
  async acquire(key: string, token: PooledToken, open: () => Promise<S>): Promise<{ session: S; reused: boolean }> {
    const entry = this.entries.get(key);
    if (entry && !entry.busy && entry.session.usable && entry.tokenExpiresAt - this.now() > this.options.renewBeforeMs) {
      entry.busy = true;
      entry.lastUsed = this.now();
      entry.session.unpark?.();
      return { session: entry.session, reused: true };
    }
    if (entry && !entry.busy) this.drop(key);
    const session = await open();
    return { session, reused: false };
  }

  /** Gives a session back: kept when it is healthy and `keep` is true, closed otherwise. */
  release(key: string, session: S, token: PooledToken, keep: boolean): void {
    const current = this.entries.get(key);
    if (!keep || !session.usable) {
      if (current?.session === session) this.drop(key);
      else void session.logout();
      return;
    }
    if (current && current.session !== session) {
      // Another session of this key is pooled (or in use): keep that one, close ours.
      if (current.busy || current.session.usable) {
        void session.logout();
        return;
      }
      this.drop(key);
    }
    if (!this.entries.has(key) && this.entries.size >= this.options.maxOpen) {
      void session.logout();
      return;
    }
    session.park?.();
    this.entries.set(key, { session, tokenExpiresAt: token.expiresAt.getTime(), lastUsed: this.now(), busy: false });
    this.options.onSize?.(this.entries.size);
  }

  /** The pooled (idle) session of a key, for IDLE listening; undefined when none is open. */
  peek(key: string): S | undefined {
    const entry = this.entries.get(key);
    return entry && !entry.busy ? entry.session : undefined;
  }

  /** The keys that have a session (idle or in use). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    void entry.session.logout();
    this.options.onSize?.(this.entries.size);
  }

  closeIdle(): void {
    const cutoff = this.now() - this.options.idleMs;
    for (const [key, entry] of this.entries) {
      if (!entry.busy && (entry.lastUsed < cutoff || !entry.session.usable)) this.drop(key);
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const sessions = [...this.entries.values()].map((e) => e.session);
    this.entries.clear();
    await Promise.all(sessions.map((s) => s.logout()));
    this.options.onSize?.(0);
  }
}
