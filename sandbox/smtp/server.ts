/**
 * An imitation of Exchange Online's SMTP submission endpoint (smtp.office365.com:587):
 * STARTTLS with the sandbox certificate, AUTH XOAUTH2 only, Exchange's reply texts, and
 * failures on demand (see SmtpBehaviour). Every accepted message is recorded raw and
 * parsed, with the claims of the token that sent it.
 *
 * Differences from Exchange that a client can see, all owed to smtp-server:
 * - AUTH is also advertised before STARTTLS; AUTH before STARTTLS is refused with
 *   `538 Error: Must issue a STARTTLS command first` (Exchange does not offer AUTH
 *   before TLS at all).
 * - ENHANCEDSTATUSCODES is not advertised and success replies carry no enhanced code
 *   (see replies.ts for why); every failure reply written here carries Exchange's.
 * - `552` for a MAIL FROM SIZE= over the limit keeps smtp-server's text; the sandbox's
 *   own check at the end of DATA uses Exchange's `552 5.3.4`.
 */
import type { MailboxPermissions } from '../mailbox-permissions.js';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerAuthentication,
  type SMTPServerAuthenticationResponse,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerSession,
} from 'smtp-server';
import type { SandboxPki } from '../pki.js';
import { consumeOnce, defaultBehaviour, type AuthFailure, type SmtpBehaviour } from './behaviour.js';
import { REPLIES, replyError, replyLine, type Reply } from './replies.js';
import { checkSmtpToken } from './token-check.js';

export interface RecordedMessage {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  parsed: ParsedMail;
  /** The SASL `user=` of the session that sent it. */
  authUser: string;
  tokenClaims: Record<string, unknown>;
  receivedAt: Date;
}

export interface AuthAttempt {
  user: string;
  ok: boolean;
  /** The failure reply sent to the client. */
  response?: string;
  /** Why the sandbox refused (never sent to the client: Exchange does not say). */
  reason?: string;
  at: Date;
}

export interface SandboxSmtp {
  host: '127.0.0.1';
  port: number;
  messages: RecordedMessage[];
  authAttempts: AuthAttempt[];
  /** The most authenticated connections each mailbox (lower-case SASL user) held at once since the last reset. */
  peakConnections: Map<string, number>;
  /** Authenticated connections each mailbox holds now. */
  openConnections: Map<string, number>;
  /** Resolves with all messages once at least `count` are recorded. */
  waitForMessages(count: number, timeoutMs?: number): Promise<RecordedMessage[]>;
  setBehaviour(b: Partial<SmtpBehaviour>): void;
  /** A copy of the current behaviour (failure counters included). */
  getBehaviour(): SmtpBehaviour;
  /** Forgets messages and auth attempts and restores the default behaviour. */
  reset(): void;
  stop(): Promise<void>;
}

export interface StartSmtpOptions {
  pki: SandboxPki;
  /** 0 (default): any free port. */
  port?: number;
  /** Who has Full Access to which shared mailbox; default: nobody. */
  permissions?: MailboxPermissions;
}

/** What onAuth stores as `session.user`. */
interface SessionUser {
  address: string;
  claims: Record<string, unknown>;
}

// Host name in the greeting, EHLO reply and DATA reply; Exchange's look like SN6PR01MB1234.
const SERVER_NAME = 'SBX0PR01MB0001.sandbox.outlook.office365.com';

const FORCED_AUTH_FAILURES: Record<AuthFailure, Reply> = {
  smtp_auth_disabled: REPLIES.smtpAuthDisabled,
  auth_unsuccessful: REPLIES.authUnsuccessful,
  criteria_not_met: REPLIES.criteriaNotMet,
};

function sessionUser(session: SMTPServerSession): SessionUser {
  return session.user as SessionUser;
}

export async function startSmtp(opts: StartSmtpOptions): Promise<SandboxSmtp> {
  const { pki } = opts;
  let behaviour = defaultBehaviour();
  const messages: RecordedMessage[] = [];
  const authAttempts: AuthAttempt[] = [];
  const openConnections = new Map<string, number>();
  const peakConnections = new Map<string, number>();
  /** Sessions counted in openConnections, by session id, with the mailbox they count for. */
  const counted = new Map<string, string>();
  let waiters: (() => void)[] = [];

  const notify = (): void => {
    for (const waiter of waiters) waiter();
  };

  /** Applies the throttle if it is set for `at`; returns the error to answer with. */
  const throttled = (at: 'mail' | 'connect'): SMTPServerError | null => {
    const throttle = behaviour.throttle;
    if (!throttle || (throttle.at ?? 'mail') !== at) return null;
    const left = consumeOnce(throttle.times);
    behaviour.throttle = left === 0 ? null : { ...throttle, times: left };
    return replyError(REPLIES.throttled); // smtp-server closes the connection after a 421
  };

  /** Whether `address` is the user itself or an address it may send as. */
  const maySendAs = (user: string, address: string): boolean => {
    const wanted = address.toLowerCase();
    if (wanted === user.toLowerCase()) return true;
    const allowed = behaviour.allowedSenders;
    if (allowed === 'any' || allowed.some((a) => a.toLowerCase() === wanted)) return true;
    const grants = Object.entries(behaviour.sendAsGrants).find(([mailbox]) => mailbox.toLowerCase() === user.toLowerCase())?.[1] ?? [];
    return grants.some((a) => a.toLowerCase() === wanted);
  };

  const authenticate = async (
    auth: SMTPServerAuthentication,
    sessionId: string,
  ): Promise<{ err: SMTPServerError } | { user: SessionUser }> => {
    const user = auth.username ?? '';
    const fail = (reply: Reply, reason: string): { err: SMTPServerError } => {
      authAttempts.push({ user, ok: false, response: replyLine(reply), reason, at: new Date() });
      return { err: replyError(reply) };
    };
    if (behaviour.authFailure) {
      const reply = FORCED_AUTH_FAILURES[behaviour.authFailure];
      const left = consumeOnce(behaviour.authFailureTimes);
      if (left === 0) behaviour.authFailure = null;
      behaviour.authFailureTimes = left === 0 ? null : left;
      return fail(reply, `forced failure: ${reply.text}`);
    }
    if (auth.method !== 'XOAUTH2' || !auth.accessToken) return fail(REPLIES.authUnsuccessful, 'not XOAUTH2');
    const check = await checkSmtpToken(pki.signingKey, user, auth.accessToken, opts.permissions);
    if (!check.ok) return fail(REPLIES.authUnsuccessful, check.reason);
    // Exchange's cap on concurrent connections per mailbox, counted once a session is authenticated.
    const mailbox = user.toLowerCase();
    const open = openConnections.get(mailbox) ?? 0;
    if (open >= behaviour.maxConnectionsPerMailbox) return fail(REPLIES.concurrentConnections, `${open} connections open for ${user}`);
    openConnections.set(mailbox, open + 1);
    peakConnections.set(mailbox, Math.max(peakConnections.get(mailbox) ?? 0, open + 1));
    counted.set(sessionId, mailbox);
    authAttempts.push({ user, ok: true, at: new Date() });
    return { user: { address: user, claims: check.claims } };
  };

  const server = new SMTPServer({
    secure: false,
    key: pki.serverKeyPem,
    cert: pki.serverCertPem,
    minVersion: 'TLSv1.2', // Exchange Online refuses TLS 1.0 and 1.1
    name: SERVER_NAME,
    banner: 'Microsoft ESMTP MAIL Service ready (mailsync sandbox)',
    heloResponse: '%s Hello %s',
    authMethods: ['XOAUTH2'],
    // AUTH only after STARTTLS, as on Exchange (smtp-server answers 538 before it).
    allowInsecureAuth: false,
    hideSTARTTLS: false,
    hideENHANCEDSTATUSCODES: true,
    hideDSN: true,
    authRequiredMessage: REPLIES.authRequired,
    size: behaviour.maxMessageBytes,
    // The sandbox checks the size itself at the end of DATA, to answer with Exchange's text.
    rejectOversized: false,
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1000,

    onConnect(_session, callback) {
      callback(throttled('connect'));
    },

    // XOAUTH2 failures go to the callback as an error: smtp-server then answers
    // `<err.responseCode> <err.message>` at once, as Exchange does. Answering with
    // `callback(null, { data })` instead would make smtp-server send a `334 <base64 JSON>`
    // challenge first (the Gmail style), which Exchange never does.
    onAuth(auth, session, callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void) {
      authenticate(auth, session.id).then(
        (result) => ('err' in result ? callback(result.err) : callback(null, { user: result.user })),
        (err: unknown) => callback(err as Error),
      );
    },

    onClose(session) {
      const mailbox = counted.get(session.id);
      if (mailbox === undefined) return;
      counted.delete(session.id);
      openConnections.set(mailbox, Math.max(0, (openConnections.get(mailbox) ?? 1) - 1));
    },

    onMailFrom(address: SMTPServerAddress, session, callback) {
      const throttle = throttled('mail');
      if (throttle) return callback(throttle);
      callback(maySendAs(sessionUser(session).address, address.address) ? null : replyError(REPLIES.sendAsDenied));
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const rcpt = address.address.toLowerCase();
      const rule = Object.entries(behaviour.rejectRecipients).find(([a]) => a.toLowerCase() === rcpt)?.[1];
      if (rule === 550) return callback(replyError(REPLIES.recipientNotFound(address.address)));
      if (rule === 452 || session.envelope.rcptTo.length >= behaviour.maxRecipientsPerMessage) {
        return callback(replyError(REPLIES.tooManyRecipients));
      }
      callback();
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (!stream.sizeExceeded) chunks.push(chunk); // no point keeping what is refused anyway
      });
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(replyError(REPLIES.messageTooBig));
        const failure = behaviour.dataFailure;
        if (failure) {
          const left = consumeOnce(failure.times);
          behaviour.dataFailure = left === 0 ? null : { ...failure, times: left };
          return callback(replyError({ code: failure.code, text: failure.message }));
        }
        const raw = Buffer.concat(chunks);
        const user = sessionUser(session);
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        simpleParser(raw).then(
          (parsed) => {
            // Exchange checks Send As on the From header once it has the message.
            for (const from of parsed.from?.value ?? []) {
              if (from.address && !maySendAs(user.address, from.address)) {
                return callback(replyError(REPLIES.sendAsDeniedHeader(user.address, from.address)));
              }
            }
            messages.push({ envelope, raw, parsed, authUser: user.address, tokenClaims: user.claims, receivedAt: new Date() });
            notify();
            // Exchange: `250 2.0.0 OK <message id> [Hostname=…]`
            callback(null, `2.0.0 OK ${parsed.messageId ?? ''} [Hostname=${SERVER_NAME}]`);
          },
          (err: unknown) => callback(replyError({ code: 554, text: `5.6.0 Message could not be parsed: ${String(err)}` })),
        );
      });
    },
  });
  // smtp-server re-emits connection errors (a client resetting its socket, a failed TLS
  // handshake) on the server; without a listener they would crash the test process.
  server.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  const setBehaviour = (b: Partial<SmtpBehaviour>): void => {
    behaviour = { ...behaviour, ...b };
    server.options.size = behaviour.maxMessageBytes; // read live: EHLO, MAIL SIZE=, DATA
  };

  return {
    host: '127.0.0.1',
    port,
    messages,
    authAttempts,
    peakConnections,
    openConnections,
    waitForMessages(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== check);
          resolve([...messages]);
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== check);
          reject(new Error(`sandbox SMTP: ${messages.length} of ${count} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
    setBehaviour,
    getBehaviour: () => structuredClone(behaviour),
    reset() {
      messages.length = 0;
      authAttempts.length = 0;
      // Connections still open keep counting; the peak starts again from them.
      peakConnections.clear();
      for (const [mailbox, open] of openConnections) if (open > 0) peakConnections.set(mailbox, open);
      setBehaviour(defaultBehaviour());
    },
    async stop() {
      for (const connection of server.connections) {
        connection.send(REPLIES.shuttingDown.code, REPLIES.shuttingDown.text);
        connection.close();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
