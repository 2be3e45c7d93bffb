/**
 * Sending over SMTP AUTH XOAUTH2 with pooled connections, one nodemailer
 * pool per mailbox and access token. With verify.ts, the only code that
 * imports nodemailer.
 *
 * - A mailbox's pool keeps up to `connectionsPerMailbox` authenticated
 *   connections open between messages (Exchange's per-minute limit makes
 *   more pointless); a connection authenticates once, with the token the
 *   pool was made for.
 * - A new token (the token service renews five minutes before expiry), a
 *   token close to expiry, other server settings or `drop()` after a 535
 *   retire the pool: it takes no more messages and closes once the ones it
 *   is sending are done. Pools idle for `idleMs` are closed by `sweep()`.
 * - nodemailer's own re-queueing of a message whose connection dropped is
 *   off (`maxRequeues: 0`): the caller's retry policy is the only one, so
 *   every attempt is counted and recorded.
 * - No `expires` in the auth options: nodemailer would try to renew an
 *   expired token, which it cannot do here. No file or URL access: content
 *   is always given as buffers and strings.
 * - With `slots` (Exchange's 3 connections per mailbox, across all workers),
 *   a process takes `connectionsPerMailbox` of the mailbox's slots before its
 *   first pool for the mailbox opens a connection (`reserve`), renews them at
 *   each sweep and gives them back when its last pool for the mailbox has
 *   closed. A process whose slots lapsed (Redis lost them, a long pause)
 *   retires its pools for the mailbox: it cannot know that nobody took them.
 *   Known gap: while a pool retired for a new token finishes the messages it
 *   is sending, the new pool may open its connections beside it.
 */
import { secureContextFor } from '../tls-context.js';
import { createHash } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { Logger } from '../../logging/logger.js';
import { lazyOAuthSecrets, libraryLogger } from '../../logging/library-logger.js';
import { scrubText } from '../../logging/redaction.js';
import { AppError } from '../../errors/errors.js';
import { SMTP_CONNECTIONS_RETRY_MS, SMTP_HINTS, smtpError, type SmtpFailureContext } from './failure.js';
import { DEFAULT_SMTP_TIMEOUTS, type SmtpTimeouts } from './verify.js';

export interface SmtpTarget {
  /** The pool's key: the mailbox id. */
  key: string;
  host: string;
  port: number;
  /** true: implicit TLS (465); false: STARTTLS, required. */
  secure: boolean;
  /** The mailbox address: SASL `user=` and the envelope sender. */
  user: string;
  flow?: SmtpFailureContext['flow'];
  /** A delegated shared mailbox's agent, whose token logs in as `user` (only words the refusal). */
  signInAs?: string | undefined;
}

export interface SmtpToken {
  accessToken: string;
  expiresAt: Date;
}

export interface OutgoingAttachment {
  filename: string;
  contentType?: string | undefined;
  content: Buffer;
}

export interface OutgoingMail {
  /** The mailbox's address: the SMTP login, the envelope sender, and the From header unless `sendAs` is given. */
  from: string;
  /** The From header when sending as another address (Send As). */
  sendAs?: { name?: string | undefined; address: string } | undefined;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string | undefined;
  subject?: string | undefined;
  text?: string | undefined;
  html?: string | undefined;
  attachments: OutgoingAttachment[];
  headers: Record<string, string>;
  inReplyTo?: string | undefined;
  references?: string[] | undefined;
  /** With its angle brackets. */
  messageId: string;
  date: Date;
  /** A whole message sent as given (its header fields already prepared); the fields above are then its envelope. */
  raw?: Buffer;
}

export interface RejectedRecipient {
  address: string;
  responseCode: number | null;
  response: string;
}

export interface SmtpSent {
  /** The server's answer to the message. */
  response: string;
  accepted: string[];
  rejected: RejectedRecipient[];
}

/** A mailbox's SMTP connection slots, shared by every worker (store/connection-slots.ts). */
export interface ConnectionSlots {
  /** Takes `count` of the mailbox's slots, all or none; undefined when other workers hold too many. */
  take(mailboxId: string, count: number): Promise<SlotLease | undefined>;
}

export interface SlotLease {
  /** Keeps the slots; false when they had lapsed (and are given back). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export interface SendPoolSettings {
  ca: readonly string[];
  connectionsPerMailbox: number;
  /** Exchange's cap per mailbox across every worker; without it, each process counts for itself only. */
  slots?: ConnectionSlots;
  /** Close a mailbox's pool after this long without a message (ms). */
  idleMs: number;
  /** Retire a pool this long before its token expires (ms). */
  renewBeforeMs: number;
  /** One message's whole budget, connection included (ms): a server that trickles its replies is given up on. */
  sendTimeoutMs: number;
  timeouts?: Partial<SmtpTimeouts>;
  logger?: Logger;
}

type Transport = ReturnType<typeof createTransport<unknown>>;

interface Pool {
  key: string;
  transport: Transport;
  fingerprint: string;
  expiresAt: number;
  inFlight: number;
  lastUsed: number;
  retired: boolean;
}

/** The rejected recipients nodemailer reports, on a result or on an "all recipients rejected" error. */
export function rejectedOf(source: unknown): RejectedRecipient[] {
  const errors = (source as { rejectedErrors?: unknown } | null)?.rejectedErrors;
  if (!Array.isArray(errors)) return [];
  return errors.map((e: { recipient?: unknown; responseCode?: unknown; response?: unknown; message?: unknown }) => ({
    address: typeof e.recipient === 'string' ? e.recipient : '',
    responseCode: typeof e.responseCode === 'number' ? e.responseCode : null,
    response: scrubText(String(e.response ?? e.message ?? '')),
  }));
}

/** The slots this process holds for one mailbox, and its pools for it that are not closed yet. */
interface Held {
  lease: SlotLease;
  open: Set<Pool>;
  /** When `reserve` last found or took them: slots reserved but never used are given back after idleMs. */
  reservedAt: number;
}

export class SmtpSendPool {
  private readonly pools = new Map<string, Pool>();
  private readonly held = new Map<string, Held>();
  private readonly taking = new Map<string, Promise<boolean>>();
  private readonly timeouts: SmtpTimeouts;

  constructor(private readonly settings: SendPoolSettings, private readonly now: () => number = Date.now) {
    this.timeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...settings.timeouts };
  }

  /** Open pools (for metrics and tests). */
  get size(): number {
    return this.pools.size;
  }

  /**
   * Whether this process may open connections for the mailbox: it holds the mailbox's slots, or
   * takes them now. False when other workers hold them (the caller waits, no attempt counted).
   * Always true without `slots`.
   */
  async reserve(key: string): Promise<boolean> {
    const slots = this.settings.slots;
    if (!slots) return true;
    const held = this.held.get(key);
    if (held) {
      held.reservedAt = this.now();
      return true;
    }
    let taking = this.taking.get(key);
    if (!taking) {
      taking = slots.take(key, this.settings.connectionsPerMailbox).then((lease) => {
        if (lease) this.held.set(key, { lease, open: new Set(), reservedAt: this.now() });
        return lease !== undefined;
      }).finally(() => this.taking.delete(key));
      this.taking.set(key, taking);
    }
    return taking;
  }

  async send(target: SmtpTarget, token: SmtpToken, mail: OutgoingMail): Promise<SmtpSent> {
    if (!(await this.reserve(target.key))) {
      // Reserved before the attempt began, lapsed since: rare; counted as Exchange's own 432 would be.
      throw new AppError('smtp_throttled', `Every SMTP connection slot of ${target.user} is held by other workers.`, {
        hint: SMTP_HINTS.connections, fields: { transient: true, retryAfterMs: SMTP_CONNECTIONS_RETRY_MS },
      });
    }
    const pool = this.acquire(target, token);
    pool.inFlight += 1;
    try {
      // Sending as another address: the From header names it, while the envelope (MAIL FROM)
      // stays the mailbox that authenticated. Exchange checks Send As on the From header (5.2.252
      // at the end of DATA, naming the address), whereas a MAIL FROM other than the login is
      // refused earlier with a vaguer 5.7.60; and bounces then come back to the mailbox
      // mailsync watches, not to a shared mailbox it may not read.
      const info = await pool.transport.sendMail(mail.raw ? {
        envelope: { from: mail.from, to: [...mail.to, ...mail.cc, ...mail.bcc] },
        raw: mail.raw,
        disableFileAccess: true,
        disableUrlAccess: true,
        signal: AbortSignal.timeout(this.settings.sendTimeoutMs),
      } : {
        from: mail.sendAs ? (mail.sendAs.name !== undefined ? { name: mail.sendAs.name, address: mail.sendAs.address } : mail.sendAs.address) : mail.from,
        ...(mail.sendAs ? { envelope: { from: mail.from, to: [...mail.to, ...mail.cc, ...mail.bcc] } } : {}),
        to: mail.to,
        cc: mail.cc,
        bcc: mail.bcc,
        ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
        ...(mail.subject !== undefined ? { subject: mail.subject } : {}),
        ...(mail.text !== undefined ? { text: mail.text } : {}),
        ...(mail.html !== undefined ? { html: mail.html } : {}),
        attachments: mail.attachments.map((a) => ({ filename: a.filename, content: a.content, ...(a.contentType ? { contentType: a.contentType } : {}) })),
        headers: mail.headers,
        ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
        ...(mail.references?.length ? { references: mail.references } : {}),
        messageId: mail.messageId,
        date: mail.date,
        disableFileAccess: true,
        disableUrlAccess: true,
        signal: AbortSignal.timeout(this.settings.sendTimeoutMs),
      }) as { response?: unknown; accepted?: unknown; rejectedErrors?: unknown };
      return {
        response: scrubText(String(info.response ?? '')),
        accepted: Array.isArray(info.accepted) ? info.accepted.map(String) : [],
        rejected: rejectedOf(info),
      };
    } catch (err) {
      const failure = smtpError(err, { flow: target.flow, mailbox: target.user, signInAs: target.signInAs, from: mail.sendAs?.address });
      // "All recipients were rejected" names each refusal: the caller records them.
      const rejected = rejectedOf(err);
      if (rejected.length > 0) failure.fields.rejectedRecipients = rejected;
      throw failure;
    } finally {
      pool.inFlight -= 1;
      pool.lastUsed = this.now();
      if (pool.retired) this.closeWhenDone(pool);
    }
  }

  /** Retires the mailbox's pool: after a 535, the next message gets a new pool (and the caller a fresh token). */
  drop(key: string): void {
    const pool = this.pools.get(key);
    if (pool) this.retire(key, pool);
  }

  /**
   * Closes pools idle for `idleMs` and pools whose token is about to expire; renews the slots
   * held, gives back those reserved but unused for `idleMs`, and retires the pools of slots that
   * lapsed.
   */
  async sweep(): Promise<void> {
    const now = this.now();
    for (const [key, pool] of this.pools) {
      if (now - pool.lastUsed >= this.settings.idleMs || pool.expiresAt - now <= this.settings.renewBeforeMs) this.retire(key, pool);
    }
    for (const [key, held] of [...this.held]) {
      if (held.open.size === 0 && now - held.reservedAt >= this.settings.idleMs) {
        this.giveBack(key, held);
        continue;
      }
      if (await held.lease.renew()) continue;
      this.settings.logger?.warn({ mailboxId: key }, 'SMTP connection slots lapsed: closing this worker\'s connections of the mailbox');
      if (this.held.get(key) === held) this.held.delete(key);
      const pool = this.pools.get(key);
      if (pool) this.retire(key, pool);
    }
  }

  /** Closes every pool; messages being sent finish first (nodemailer closes busy connections after them). */
  closeAll(): void {
    for (const [key, pool] of this.pools) this.retire(key, pool);
    for (const [key, held] of [...this.held]) if (held.open.size === 0) this.giveBack(key, held);
  }

  private acquire(target: SmtpTarget, token: SmtpToken): Pool {
    // The fingerprint names the token without holding it as a map key or in a log.
    const fingerprint = createHash('sha256').update(`${target.host}\n${target.port}\n${target.secure}\n${target.user}\n${token.accessToken}`).digest('base64url');
    const now = this.now();
    const current = this.pools.get(target.key);
    if (current && current.fingerprint === fingerprint && current.expiresAt - now > this.settings.renewBeforeMs) return current;
    if (current) this.retire(target.key, current);
    const pool: Pool = { key: target.key, transport: this.create(target, token), fingerprint, expiresAt: token.expiresAt.getTime(), inFlight: 0, lastUsed: now, retired: false };
    this.pools.set(target.key, pool);
    this.held.get(target.key)?.open.add(pool);
    return pool;
  }

  private retire(key: string, pool: Pool): void {
    if (this.pools.get(key) === pool) this.pools.delete(key);
    pool.retired = true;
    this.closeWhenDone(pool);
  }

  private closeWhenDone(pool: Pool): void {
    if (pool.inFlight !== 0) return;
    pool.transport.close();
    const held = this.held.get(pool.key);
    if (!held || !held.open.delete(pool) || held.open.size > 0 || this.pools.has(pool.key)) return;
    this.giveBack(pool.key, held);
  }

  /** Gives the mailbox's slots back (the last pool for it closed, or they were never used). */
  private giveBack(key: string, held: Held): void {
    if (this.held.get(key) === held) this.held.delete(key);
    held.lease.release().catch((err: unknown) => this.settings.logger?.warn({ err, mailboxId: key }, 'SMTP connection slots not given back; they lapse with their lease'));
  }

  private create(target: SmtpTarget, token: SmtpToken): Transport {
    const log = this.settings.logger?.child({ component: 'smtp-send', mailboxId: target.key });
    return createTransport({
      pool: true,
      maxConnections: this.settings.connectionsPerMailbox,
      maxMessages: 100,
      maxRequeues: 0,
      idleTimeout: this.settings.idleMs,
      host: target.host,
      port: target.port,
      secure: target.secure,
      requireTLS: !target.secure,
      tls: { secureContext: secureContextFor(this.settings.ca), minVersion: 'TLSv1.2' },
      auth: { type: 'OAuth2', user: target.user, accessToken: token.accessToken },
      connectionTimeout: this.timeouts.connectMs,
      greetingTimeout: this.timeouts.greetingMs,
      socketTimeout: this.timeouts.socketMs,
      dnsTimeout: this.timeouts.dnsMs,
      // nodemailer's own log lines, at debug, with the token cut out; never the SMTP transcript.
      logger: log ? libraryLogger(log, lazyOAuthSecrets(target.user, token.accessToken)) : false,
      debug: false,
      transactionLog: false,
    });
  }
}
