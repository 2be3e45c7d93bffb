/**
 * SMTP AUTH check: connect, STARTTLS (or implicit TLS), AUTH XOAUTH2, QUIT.
 * The only code that imports nodemailer (sending will join it here).
 *
 * `transport.verify()` runs AUTH only when the server advertises it, and
 * otherwise reports success without authenticating; `forceAuth` makes it
 * always authenticate, so a success here means Exchange accepted the token.
 */
import { secureContextFor } from '../tls-context.js';
import { createTransport } from 'nodemailer';
import type { Logger } from '../../logging/logger.js';
import { libraryLogger, oauthSecrets } from '../../logging/library-logger.js';
import { smtpError, type SmtpFailureContext } from './failure.js';

export interface SmtpTimeouts {
  /** TCP connect, in ms. @defaultValue 15 000 */
  connectMs: number;
  /** Greeting, and the STARTTLS upgrade, in ms. @defaultValue 15 000 */
  greetingMs: number;
  /** Socket inactivity, in ms. @defaultValue 30 000 */
  socketMs: number;
  /** DNS lookup, in ms. @defaultValue 10 000 */
  dnsMs: number;
}

export const DEFAULT_SMTP_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({ connectMs: 15_000, greetingMs: 15_000, socketMs: 30_000, dnsMs: 10_000 });

export interface SmtpVerifyOptions {
  host: string;
  port: number;
  /** true: implicit TLS (465). false: STARTTLS, required: the token never crosses the wire in clear. */
  secure: boolean;
  /** The mailbox address (SASL `user=`). */
  user: string;
  accessToken: string;
  /** Every CA to trust. Replaces Node's roots, so include them (see config/trust.ts). */
  ca: readonly string[];
  logger?: Logger | undefined;
  timeouts?: Partial<SmtpTimeouts> | undefined;
  /** Only words the error hints. */
  flow?: SmtpFailureContext['flow'];
  /** A delegated shared mailbox's agent (only words the refusal). */
  signInAs?: string | undefined;
}

/** Resolves when the server accepted the XOAUTH2 login; rejects with an AppError otherwise. */
export async function verifySmtpAuth(options: SmtpVerifyOptions): Promise<void> {
  const timeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...options.timeouts };
  const log = options.logger?.child({ component: 'smtp', smtpHost: `${options.host}:${options.port}` });
  const transport = createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure,
    requireTLS: !options.secure,
    forceAuth: true,
    tls: { secureContext: secureContextFor(options.ca), minVersion: 'TLSv1.2' },
    // No `expires`: nodemailer would try to renew an expired token, which it cannot do here.
    auth: { type: 'OAuth2', user: options.user, accessToken: options.accessToken },
    connectionTimeout: timeouts.connectMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: timeouts.dnsMs,
    // nodemailer's own log lines, at debug, with the token cut out; never the SMTP transcript.
    logger: log ? libraryLogger(log, oauthSecrets(options.user, options.accessToken)) : false,
    debug: false,
    transactionLog: false,
  });
  try {
    await transport.verify();
  } catch (err) {
    throw smtpError(err, { flow: options.flow, mailbox: options.user, signInAs: options.signInAs });
  } finally {
    transport.close();
  }
}
