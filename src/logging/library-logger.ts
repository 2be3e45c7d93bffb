/**
 * A logger for a mail library (imapflow, nodemailer): whatever the library
 * says goes to pino at trace level, after the session's secrets are cut out.
 *
 * Both libraries already mask the AUTHENTICATE payload in their own logs
 * (imapflow: `"(* value hidden *)"`; nodemailer: `/* secret *\/`, and its
 * transaction log is off). This is the second belt, because a library update
 * can add a log line we have not read: every string in an entry, at any depth
 * we keep, has the access token and its SASL encodings replaced, and JWTs and
 * `auth=Bearer …` removed (scrubText). Library warnings and errors are demoted
 * to trace too: the adapter throws a typed error for every failure that
 * matters, and the caller logs that one with the mailbox's context.
 */
import type { Logger } from './logger.js';
import { scrubText } from './redaction.js';

type Method = (...args: unknown[]) => void;

export interface LibraryLogger {
  trace: Method;
  debug: Method;
  info: Method;
  warn: Method;
  error: Method;
  fatal: Method;
  /**
   * Whether a call at `level` is worth making (imapflow asks before it serialises every command and
   * response it would log: without the answer it assumes yes, which cost a FETCH of 100 envelopes
   * more than parsing them). Trace and debug follow the service's trace level; warn and error are
   * always wanted, as the adapters watch them (a throttling notice, a refused command).
   */
  isLevelEnabled(level: string): boolean;
}

const MAX_DEPTH = 4;
const MAX_ITEMS = 50;
const REDACTED = '[REDACTED]';

/**
 * The strings that give away an OAuth access token on a mail connection: the
 * token, and the base64 SASL XOAUTH2 payload both libraries build from it
 * (`user=<user>^Aauth=Bearer <token>^A^A`).
 */
export function oauthSecrets(user: string, accessToken: string): string[] {
  const sasl = ['user=' + user, 'auth=Bearer ' + accessToken, '', ''].join('\x01');
  return [accessToken, Buffer.from(sasl).toString('base64'), Buffer.from(accessToken).toString('base64')].filter((s) => s.length >= 8);
}

/** The secrets to cut out of a library's entries, or how to make them when the first entry is logged. */
export type ScrubSecrets = readonly string[] | (() => readonly string[]);

/**
 * oauthSecrets, made when first asked for and then remembered. A kept IMAP session holds its
 * library logger for as long as it lives, and the base64 forms are about 3 KB per session (the SASL
 * one names the user, so it cannot be shared between the mailboxes of one app token): 30 MB at
 * 10,000 kept sessions, for entries that are only written at trace level. The token and the user
 * are held by reference (the token is one string for every session that uses it).
 */
export function lazyOAuthSecrets(user: string, accessToken: string): () => readonly string[] {
  let secrets: readonly string[] | undefined;
  return () => (secrets ??= oauthSecrets(user, accessToken));
}

function scrubString(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return scrubText(out);
}

/** A copy of `value` safe to log: strings scrubbed, buffers and deep structures summarised. */
export function scrubValue(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value, secrets);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (depth >= MAX_DEPTH) return '[object]';
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: scrubString(value.message, secrets) };
    if (value.stack) out.stack = scrubString(value.stack, secrets);
    for (const key of ['code', 'responseCode', 'response', 'responseText', 'responseStatus', 'command'] as const) {
      const field = (value as unknown as Record<string, unknown>)[key];
      if (field !== undefined) out[key] = scrubValue(field, secrets, depth + 1);
    }
    return out;
  }
  if (value instanceof Set || Array.isArray(value)) {
    return [...(value as Iterable<unknown>)].slice(0, MAX_ITEMS).map((item) => scrubValue(item, secrets, depth + 1));
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value).slice(0, MAX_ITEMS)) out[key] = scrubValue(field, secrets, depth + 1);
  return out;
}

/**
 * `bindings` are written into each entry, as a child logger's would be: a kept IMAP session passes
 * its parent logger and its bindings instead of a pino child it would hold for its whole life.
 */
export function libraryLogger(logger: Logger, scrub: ScrubSecrets, bindings?: Readonly<Record<string, unknown>>): LibraryLogger {
  const at = (level: 'trace'): Method => (...args: unknown[]) => {
    // Cheap when trace is off, which is the normal case: nothing is copied, no secret is made.
    if (!logger.isLevelEnabled(level)) return;
    const secrets = typeof scrub === 'function' ? scrub() : scrub;
    const [first, ...rest] = args.map((arg) => scrubValue(arg, secrets));
    if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
      // nodemailer stamps its own `component` (smtp-connection): keep ours, which says which adapter.
      const { component, ...entry } = first as Record<string, unknown>;
      if (component !== undefined) entry.libraryComponent = component;
      (logger[level] as (obj: object, ...more: unknown[]) => void)({ ...bindings, ...entry }, ...rest);
    } else if (bindings) {
      (logger[level] as (obj: object, ...more: unknown[]) => void)({ ...bindings }, ...(first === undefined ? [] : [first]), ...rest);
    } else {
      (logger[level] as (...more: unknown[]) => void)(first, ...rest);
    }
  };
  // Everything a library says goes to trace: imapflow logs every command of
  // every poll, which at debug would drown the service's own debug lines
  // (and, at thousands of polls a minute, cost more CPU than the polls).
  const trace = at('trace');
  const isLevelEnabled = (level: string): boolean => (level === 'trace' || level === 'debug' ? logger.isLevelEnabled('trace') : true);
  return { trace, debug: trace, info: trace, warn: trace, error: trace, fatal: trace, isLevelEnabled };
}
