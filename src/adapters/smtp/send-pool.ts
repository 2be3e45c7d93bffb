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
 */
import { secureContextFor } from '../tls-context.js';
import { createHash } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { Logger } from '../../logging/logger.js';
import { libraryLogger, oauthSecrets } from '../../logging/library-logger.js';
import { scrubText } from '../../logging/redaction.js';
import { smtpError, type SmtpFailureContext } from './failure.js';
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

export interface SendPoolSettings {
  ca: readonly string[];
  connectionsPerMailbox: number;
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

export class SmtpSendPool {
  private readonly pools = new Map<string, Pool>();
  private readonly timeouts: SmtpTimeouts;

  constructor(private readonly settings: SendPoolSettings, private readonly now: () => number = Date.now) {
    this.timeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...settings.timeouts };
  }

  /** Open pools (for metrics and tests). */
  get size(): number {
    return this.pools.size;
  }

  async send(target: SmtpTarget, token: SmtpToken, mail: OutgoingMail): Promise<SmtpSent> {
    const pool = this.acquire(target, token);
    pool.inFlight += 1;
    try {
      // Sending as another address: the From header names it, while the envelope (MAIL FROM)
      // stays the mailbox that authenticated. Exchange checks Send As on the From header (5.2.252
      // at the end of DATA, naming the address), whereas a MAIL FROM other than the login is
      // refused earlier with a vaguer 5.7.60; and bounces then come back to the mailbox
      // mailsync watches, not to a shared mailbox it may not read.
      const info = await pool.transport.sendMail({
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
      const failure = smtpError(err, { flow: target.flow, mailbox: target.user, from: mail.sendAs?.address });
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

  /** Closes pools idle for `idleMs` and pools whose token is about to expire. */
  sweep(): void {
    const now = this.now();
    for (const [key, pool] of this.pools) {
      if (now - pool.lastUsed >= this.settings.idleMs || pool.expiresAt - now <= this.settings.renewBeforeMs) this.retire(key, pool);
    }
  }

  /** Closes every pool; messages being sent finish first (nodemailer closes busy connections after them). */
  closeAll(): void {
    for (const [key, pool] of this.pools) this.retire(key, pool);
  }

  private acquire(target: SmtpTarget, token: SmtpToken): Pool {
    // The fingerprint names the token without holding it as a map key or in a log.
    const fingerprint = createHash('sha256').update(`${target.host}\n${target.port}\n${target.secure}\n${target.user}\n${token.accessToken}`).digest('base64url');
    const now = this.now();
    const current = this.pools.get(target.key);
    if (current && current.fingerprint === fingerprint && current.expiresAt - now > this.settings.renewBeforeMs) return current;
    if (current) this.retire(target.key, current);
    const pool: Pool = { transport: this.create(target, token), fingerprint, expiresAt: token.expiresAt.getTime(), inFlight: 0, lastUsed: now, retired: false };
    this.pools.set(target.key, pool);
    return pool;
  }

  private retire(key: string, pool: Pool): void {
    if (this.pools.get(key) === pool) this.pools.delete(key);
    pool.retired = true;
    this.closeWhenDone(pool);
  }

  private closeWhenDone(pool: Pool): void {
    if (pool.inFlight === 0) pool.transport.close();
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
      logger: log ? libraryLogger(log, oauthSecrets(target.user, token.accessToken)) : false,
      debug: false,
      transactionLog: false,
    });
  }
}
