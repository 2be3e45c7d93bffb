/**
 * One authenticated IMAP session over XOAUTH2: the only code that imports
 * imapflow. An ImapFlow instance cannot reconnect, and Exchange gives no
 * token refresh callback, so a session is single use: create a new one with
 * a fresh token to reconnect.
 *
 * Every failure leaves as an AppError from translateImapError. The polling
 * engineer extends this class with more commands (fetch envelopes, IDLE):
 * wrap each one in `run()` so its failures are translated the same way.
 */
import { secureContextFor } from '../tls-context.js';
import { ImapFlow, type ListResponse } from 'imapflow';
import type { AppError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import { lazyOAuthSecrets, libraryLogger } from '../../logging/library-logger.js';
import { translateImapError, type ImapErrorContext } from './errors.js';

export interface ImapTimeouts {
  /** DNS, TCP and TLS handshake together, in ms. @defaultValue 15 000 */
  connectMs: number;
  /** Wait for the server's greeting, in ms. @defaultValue 15 000 */
  greetingMs: number;
  /**
   * Socket inactivity, in ms. imapflow also caps a throttling back-off it
   * waits out itself at half of it. @defaultValue 60 000
   */
  socketMs: number;
}

export const DEFAULT_IMAP_TIMEOUTS: Readonly<ImapTimeouts> = Object.freeze({ connectMs: 15_000, greetingMs: 15_000, socketMs: 60_000 });

export interface ImapSessionOptions {
  host: string;
  port: number;
  /** true: implicit TLS (993). false: STARTTLS, required: a token never crosses the wire in clear. */
  secure: boolean;
  /** The mailbox address (for a shared mailbox, the shared mailbox's own address). */
  user: string;
  accessToken: string;
  /** Every CA to trust. Replaces Node's roots, so include them (see config/trust.ts). */
  ca: readonly string[];
  logger: Logger;
  timeouts?: Partial<ImapTimeouts> | undefined;
  /** Only words the error hints; the login is the same. */
  flow?: 'app_only' | 'delegated' | undefined;
  /** A delegated shared mailbox's agent (whose token this is): a refused login then means no Full Access. */
  signInAs?: string | undefined;
  /** Start IDLE whenever the session is idle (imapflow's auto-IDLE). @defaultValue false */
  autoIdle?: boolean | undefined;
  /** Largest server responses accepted; past one, the connection fails. @defaultValue BOUNDED_RESPONSES */
  limits?: Partial<ImapResponseLimits> | undefined;
  /**
   * Use COMPRESS=DEFLATE when the server offers it (Exchange does not; Dovecot with its zlib plugin
   * does). zlib's state is about 300 KB per connection (deflate 256 KB at windowBits 15 and memLevel 8,
   * inflate 32 KB): about four times what a whole kept poll session costs otherwise, for answers of a
   * few hundred bytes. @defaultValue true
   */
  compress?: boolean | undefined;
}

/**
 * imapflow's bounds on what it buffers of one server response. A server may
 * announce a literal of any size and send it: every byte is held in memory
 * until the response ends, so these bound a session's memory.
 */
export interface ImapResponseLimits {
  /** Bytes of one literal ({n}). */
  maxLiteralSize: number;
  /** Bytes of one whole response, literals included; keep it above maxLiteralSize. */
  maxResponseSize: number;
  /** Parse tree nodes of one response (about 100 bytes of heap each). */
  maxResponseTokens: number;
}

/**
 * What every session accepts of one server response unless told otherwise:
 * polling and reading list envelopes (a real listing stays far below: 10 000
 * recipients make about 50 000 tokens and 600 KB) and download sources in
 * 64 KiB partial fetches; the doctor lists folders. Without bounds imapflow
 * buffers literals of up to 1 GiB: one hostile server could take a
 * process's memory (or, through the doctor, an API process's).
 */
export const BOUNDED_RESPONSES: Readonly<ImapResponseLimits> = Object.freeze({
  maxLiteralSize: 1024 * 1024,
  maxResponseSize: 4 * 1024 * 1024,
  maxResponseTokens: 200_000,
});

export interface ImapFolder {
  path: string;
  name: string;
  delimiter: string;
  /** `\Inbox`, `\Sent`, `\Junk`, … as the server (or imapflow's name matching) says. */
  specialUse: string | undefined;
  flags: string[];
  subscribed: boolean;
}

export interface ImapFolderStatus {
  path: string;
  messages: number;
  uidNext: number;
  /** UIDVALIDITY is a 32-bit unsigned number: safe as a JS number. */
  uidValidity: number;
}

/** The special uses of RFC 6154 (and \Inbox), as LIST flags them. */
const SPECIAL_USES = ['\\Inbox', '\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];

function flaggedUse(flags: Set<string>): string | undefined {
  for (const flag of flags) {
    const use = SPECIAL_USES.find((u) => u.toLowerCase() === flag.toLowerCase());
    if (use) return use;
  }
  return undefined;
}

/** A LOGOUT that takes longer than this is abandoned and the socket closed. */
const LOGOUT_WAIT_MS = 2_000;

export class ImapSession {
  protected readonly client: ImapFlow;
  protected readonly context: ImapErrorContext;
  private readonly logger: Logger;
  private childLog: Logger | undefined;
  private readonly socketMs: number;

  constructor(options: ImapSessionOptions) {
    const timeouts = { ...DEFAULT_IMAP_TIMEOUTS, ...options.timeouts };
    this.socketMs = timeouts.socketMs;
    this.logger = options.logger;
    this.context = { host: options.host, port: options.port, user: options.user, flow: options.flow, signInAs: options.signInAs };
    this.client = new ImapFlow({
      host: options.host,
      port: options.port,
      secure: options.secure,
      doSTARTTLS: options.secure ? undefined : true,
      auth: { user: options.user, accessToken: options.accessToken },
      tls: { secureContext: secureContextFor(options.ca), minVersion: 'TLSv1.2' },
      // imapflow's logger, at trace, with the token cut out; raw socket logging stays off.
      logger: this.watchThrottling(libraryLogger(options.logger, lazyOAuthSecrets(options.user, options.accessToken), this.bindings())),
      logRaw: false,
      emitLogs: false,
      disableAutoIdle: !options.autoIdle,
      disableCompression: options.compress === false,
      connectionTimeout: timeouts.connectMs,
      greetingTimeout: timeouts.greetingMs,
      socketTimeout: timeouts.socketMs,
      // Bounded by default: a session that forgets its limits must not buffer a hostile server's 1 GiB.
      ...BOUNDED_RESPONSES,
      ...options.limits,
    });
    // Socket errors after connect() are emitted, not thrown: without a listener they would crash the process.
    this.client.on('error', (err: unknown) => {
      this.connectionError ??= err;
      this.log.debug({ err: translateImapError(err, this.context) }, 'imap connection error');
    });
  }

  /**
   * The session's logger (component imap, its host), made when it first logs: a pino child holds its
   * own serialised bindings and level methods for as long as the session lives, and a kept session
   * that never fails never logs.
   */
  private get log(): Logger {
    return (this.childLog ??= this.logger.child(this.bindings()));
  }

  private bindings(): { component: 'imap'; imapHost: string } {
    return { component: 'imap', imapHost: `${this.context.host}:${this.context.port}` };
  }

  /**
   * The back-off Exchange asked for in its last "Request is throttled" answer.
   * imapflow's STATUS swallows that error (it answers `false`), and only says
   * so in a log entry; this catches the entry so STATUS can still throw it.
   */
  private lastThrottleMs: number | undefined;

  /** The error of the last command imapflow swallowed (see watchThrottling). */
  private lastRefusal: object | undefined;

  /**
   * Why the command that just answered `false` failed, as imapflow logged it (a NO with its response
   * code: OVERQUOTA, NOPERM…), once; undefined when it logged nothing. Clear it before the command.
   */
  protected takeRefusal(): object | undefined {
    const refusal = this.lastRefusal;
    this.lastRefusal = undefined;
    return refusal;
  }

  private watchThrottling(logger: ReturnType<typeof libraryLogger>): ReturnType<typeof libraryLogger> {
    const warn = logger.warn;
    return {
      ...logger,
      warn: (...args: unknown[]) => {
        const entry = args[0] as { msg?: unknown; throttleDelay?: unknown } | undefined;
        if (entry?.msg === 'Throttling detected' && typeof entry.throttleDelay === 'number') this.lastThrottleMs = entry.throttleDelay;
        // imapflow's STORE, COPY, MOVE and EXPUNGE answer false for a refused command and only log its error.
        const err = (entry as { err?: unknown } | undefined)?.err;
        if (err !== undefined && err !== null && typeof err === 'object') this.lastRefusal = err;
        warn(...args);
      },
    };
  }

  /** True while the session is connected and authenticated. */
  get usable(): boolean {
    return this.client.usable;
  }

  /**
   * Kept between uses (a pool holds it): the socket's inactivity timeout is off. imapflow ends a
   * session that is quiet for `socketMs` (60 s) and not idling with a timeout error, so every session
   * kept for a poll interval of a minute or more was lost before its next poll, which then logged in
   * again (and failed with `imap_unreachable` when the timeout came during it): a kept session cost
   * more than a new one. A dead peer is still noticed by TCP keepalive (imapflow turns it on), and
   * the pool closes a session kept unused for too long.
   */
  park(): void {
    this.socket()?.setTimeout(0);
  }

  /** In use again: the inactivity timeout is back, so a command the server does not answer fails. */
  unpark(): void {
    this.socket()?.setTimeout(this.socketMs);
  }

  /** imapflow's socket (not in its types): the TLS socket once connected, none before or after. */
  private socket(): { setTimeout(ms: number): unknown } | undefined {
    const socket = (this.client as unknown as { socket?: unknown }).socket;
    return socket && typeof (socket as { setTimeout?: unknown }).setTimeout === 'function' ? (socket as { setTimeout(ms: number): unknown }) : undefined;
  }

  /** Runs an imapflow call, translating its failure. Every command of this class goes through it. */
  protected async run<T>(operation: string, call: (client: ImapFlow) => Promise<T>): Promise<T> {
    try {
      return await call(this.client);
    } catch (err) {
      throw this.translate(err, operation);
    }
  }

  /**
   * Why imapflow dropped the connection, when it said so in an 'error' event
   * (a response over the limits, a parse failure): the command that was
   * waiting then fails with a bare NoConnection, which would hide the cause.
   */
  private connectionError: unknown;

  protected translate(err: unknown, operation: string): AppError {
    const code = (err as { code?: unknown } | null)?.code;
    const closed = code === 'NoConnection' || code === 'EConnectionClosed';
    return translateImapError(closed && this.connectionError !== undefined ? this.connectionError : err, { ...this.context, operation });
  }

  /** Connects, upgrades to TLS, and logs in with XOAUTH2. */
  async connect(): Promise<void> {
    await this.run('login', (client) => client.connect());
  }

  /** Every folder (LIST), with its special use. */
  async listFolders(): Promise<ImapFolder[]> {
    const listed = await this.run('LIST', (client) => client.list());
    return listed.map((entry: ListResponse) => ({
      path: entry.path,
      name: entry.name,
      delimiter: entry.delimiter,
      // The server's own flag first: Exchange sends \Trash and the like in LIST without advertising
      // SPECIAL-USE, and imapflow then reads them from the folder names only.
      specialUse: flaggedUse(entry.flags) ?? entry.specialUse,
      flags: [...entry.flags],
      subscribed: entry.subscribed,
    }));
  }

  /** STATUS of one folder, by its path (resolve special uses with listFolders first). */
  async status(path: string): Promise<ImapFolderStatus> {
    const operation = `STATUS ${path}`;
    const status = await this.run(operation, (client) => client.status(path, { messages: true, uidNext: true, uidValidity: true }));
    // imapflow answers false (instead of throwing) for some refusals, throttling among them.
    if (status === false) {
      const throttled = this.lastThrottleMs;
      this.lastThrottleMs = undefined;
      if (throttled !== undefined) {
        throw this.translate({ code: 'ETHROTTLE', throttleReset: throttled, responseText: `Request is throttled. Suggested Backoff Time: ${throttled} milliseconds` }, operation);
      }
      // imapflow also answers false when the connection closed in the middle of the answer.
      if (!this.client.usable) throw this.translate({ code: 'EConnectionClosed' }, operation);
      throw this.translate({ responseText: 'the server refused STATUS', path }, operation);
    }
    return {
      path: status.path,
      messages: status.messages ?? 0,
      uidNext: status.uidNext ?? 0,
      uidValidity: status.uidValidity === undefined ? 0 : Number(status.uidValidity),
    };
  }

  /** A polite LOGOUT, bounded in time; never throws. Closes the socket in any case. */
  async logout(): Promise<void> {
    if (!this.client.usable) {
      this.close();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.logout(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, LOGOUT_WAIT_MS);
        }),
      ]);
    } catch (err) {
      this.log.debug({ err: this.translate(err, 'LOGOUT') }, 'imap logout failed');
    } finally {
      clearTimeout(timer);
      this.close();
    }
  }

  /** Drops the connection at once (idempotent). */
  close(): void {
    try {
      this.client.close();
    } catch {
      // already closed
    }
  }
}

/** A plain session (the doctor's: login, LIST, STATUS), bounded like polling and reading (BOUNDED_RESPONSES). */
export function createImapSession(options: ImapSessionOptions): ImapSession {
  return new ImapSession(options);
}
