/**
 * The light IMAP imitation: one TLS listener (the sandbox PKI's certificate) standing in for
 * outlook.office365.com:993 where Dovecot cannot carry the load (bench/poll's 10,000 mailboxes:
 * Dovecot forks a process per connection). In process, started by a function, like the other
 * sandbox servers; nothing happens on import.
 *
 *   const imap = await startLiteImap({ pki, key: pki.signingKey });
 *   imap.deliver('bench-1@contoso.example', rawMail(...));   // → UID, idling sessions told at once
 *   // a mailbox with imap { host: '127.0.0.1', port: imap.port, secure: true }
 *
 * It answers what a poll sends (see session.ts) with Exchange's words (replies.ts), checks XOAUTH2
 * tokens as Exchange does (token.ts), and refuses a mailbox's connections beyond
 * `maxConnectionsPerMailbox` as Exchange does: the login is accepted, every command then answered
 * `BAD User is authenticated but not connected.`.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import type { MailboxPermissions } from '../mailbox-permissions.js';
import type { SandboxPki } from '../pki.js';
import { EXCHANGE_CAPABILITIES } from './replies.js';
import { LiteImapSession } from './session.js';
import { MailboxStore } from './store.js';
import { TokenChecker } from './token.js';

export interface LiteImapOptions {
  pki: SandboxPki;
  /** Full Access of agents to shared mailboxes (delegated tokens). */
  permissions?: Pick<MailboxPermissions, 'hasFullAccess'>;
  /**
   * Concurrent connections one mailbox may have: Exchange allows about 16 to 20
   * (microsoft-facts.md, *unverified*); the low end by default. @defaultValue 16
   */
  maxConnectionsPerMailbox?: number;
  /** CAPABILITY words. @defaultValue EXCHANGE_CAPABILITIES */
  capabilities?: readonly string[];
  /** Listen on this port (0: any free one). @defaultValue 0 */
  port?: number;
}

export interface LiteImapEvents {
  login: [user: string];
  /** A refused AUTHENTICATE or LOGIN; the user when the SASL response named one. */
  login_refused: [user: string | undefined];
  /** A login past the mailbox's connection limit. */
  over_limit: [user: string];
  /** A session started IDLE. */
  idle: [user: string | undefined];
  /** A command answered BAD (unreadable, unknown, bad arguments). */
  bad: [user: string | undefined];
}

export interface LiteImap {
  host: '127.0.0.1';
  port: number;
  store: MailboxStore;
  events: EventEmitter<LiteImapEvents>;
  /** Puts a message into a mailbox's INBOX (or `folder`); returns its UID. Idling sessions hear of it at once. */
  deliver(user: string, raw: Buffer | string, options?: { folder?: string }): number;
  /** Open connections, and authenticated ones of one user. */
  connections(): number;
  sessionsOf(user: string): number;
  /** Counters since the start. */
  stats(): { connections: number; logins: number; refused: number; overLimit: number; bad: number };
  stop(): Promise<void>;
}

export async function startLiteImap(options: LiteImapOptions): Promise<LiteImap> {
  const store = new MailboxStore();
  const events = new EventEmitter<LiteImapEvents>();
  events.setMaxListeners(0);
  const sockets = new Set<Socket>();
  const perUser = new Map<string, number>();
  const max = options.maxConnectionsPerMailbox ?? 16;
  const counters = { connections: 0, logins: 0, refused: 0, overLimit: 0, bad: 0 };
  const host = {
    store,
    tokens: new TokenChecker(options.pki.signingKey, options.permissions),
    capabilities: (options.capabilities ?? EXCHANGE_CAPABILITIES).join(' '),
    claim: (user: string) => {
      const n = perUser.get(user) ?? 0;
      if (n >= max) return false;
      perUser.set(user, n + 1);
      return true;
    },
    release: (user: string) => {
      const n = (perUser.get(user) ?? 1) - 1;
      if (n <= 0) perUser.delete(user);
      else perUser.set(user, n);
    },
    emit: (event: keyof LiteImapEvents, user: string | undefined) => {
      if (event === 'login') counters.logins++;
      else if (event === 'login_refused') counters.refused++;
      else if (event === 'over_limit') counters.overLimit++;
      else if (event === 'bad') counters.bad++;
      (events.emit as (e: string, u: string | undefined) => boolean)(event, user);
    },
  };
  const server = createServer({ cert: options.pki.serverCertPem, key: options.pki.serverKeyPem }, (socket: TLSSocket) => {
    counters.connections++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    new LiteImapSession(socket, host);
  });
  // A failed handshake (a client that is not TLS) is that client's problem, not the server's.
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    store,
    events,
    deliver: (user, raw, deliverOptions) => store.deliver(user, raw, deliverOptions),
    connections: () => sockets.size,
    sessionsOf: (user) => perUser.get(user.toLowerCase()) ?? 0,
    stats: () => ({ ...counters }),
    stop: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
