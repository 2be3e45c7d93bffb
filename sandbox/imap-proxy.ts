/**
 * A TLS-terminating IMAP proxy in front of the sandbox Dovecot that can
 * answer like Exchange Online under throttling and cut connections in the
 * middle of a command: the service connects to it as to
 * outlook.office365.com:993; it forwards to Dovecot's plain port.
 *
 * It reads the client's command lines (tag, command); server bytes pass
 * through untouched. Client literals ({n}) are forwarded as they come.
 *
 * With `sharedAccess` it is also Exchange's front for shared mailboxes:
 * Dovecot's token check opens only the mailbox a user token names (its upn),
 * so an `AUTHENTICATE XOAUTH2` whose `user=` is a shared mailbox and whose
 * valid delegated token is an agent's with Full Access to it (the sandbox's
 * MailboxPermissions) goes on with the same token re-signed for the shared
 * address. Without Full Access it goes on unchanged and Dovecot refuses it:
 * `NO [AUTHENTICATIONFAILED]`, as Exchange's `NO AUTHENTICATE failed.`.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { MailboxPermissions } from './mailbox-permissions.js';
import type { SigningKey } from './pki.js';
import { EXCHANGE_AUDIENCE } from './tokens.js';
import { connect, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { SandboxPki } from './pki.js';

export interface ImapProxyBehaviour {
  /** Answer these commands with Exchange's throttling BAD instead of forwarding them. */
  throttle: null | { commands: string[]; backoffMs: number; times: number | null };
  /** Drop the connection when the client sends one of these commands (after forwarding it). */
  cutOn: null | { commands: string[]; times: number | null };
}

export interface ImapProxy {
  host: '127.0.0.1';
  port: number;
  /** Commands seen, oldest first: `{ command, at }` (no arguments: they carry tokens). */
  commands: { command: string; at: number }[];
  throttled: number;
  cut: number;
  /** Untagged FETCH responses (`* <n> FETCH`) the server sent its clients through the proxy. */
  fetchResponses: number;
  /** FETCH commands that ask for a message's source or a part of it (`BODY.PEEK[…]`, `BINARY.PEEK[…]`; not `BODY.PEEK[HEADER.FIELDS (…)]`). */
  bodyFetches: number;
  /** Bytes the server sent its clients, and the clients the server, through the proxy (IMAP, before TLS). */
  bytesToClients: number;
  bytesFromClients: number;
  setBehaviour(b: Partial<ImapProxyBehaviour>): void;
  /**
   * Holds the next command of this name a client sends (`UID`: its second word, as `SEARCH` of `UID
   * SEARCH`), and everything after it on that connection, until `release()`: what a test does
   * meanwhile (deliver mail) happens between that client's previous command and this one.
   * `reached` settles when the command arrives. One hold at a time.
   */
  hold(command: string): { reached: Promise<void>; release(): void };
  stop(): Promise<void>;
}

const XOAUTH2_LINE = /^([A-Za-z0-9.]+) AUTHENTICATE XOAUTH2 ([A-Za-z0-9+/=]+)\r?\n$/i;

export interface SharedAccess {
  key: SigningKey;
  permissions: Pick<MailboxPermissions, 'hasFullAccess'>;
}

/** The login line with an agent's token re-signed for the shared mailbox it has Full Access to; else the line as it came. */
export function sharedMailboxLogin(line: string, access: SharedAccess): string {
  const match = XOAUTH2_LINE.exec(line);
  if (!match) return line;
  const sasl = Buffer.from(match[2] ?? '', 'base64').toString('utf8').split('\x01');
  const user = sasl.find((f) => f.startsWith('user='))?.slice(5);
  const token = sasl.find((f) => /^auth=Bearer /i.test(f))?.slice(12);
  const [head, body, sig] = (token ?? '').split('.');
  if (!user || !head || !body || !sig) return line;
  if (!verify('sha256', Buffer.from(`${head}.${body}`), createPublicKey(access.key.publicKeyPem), Buffer.from(sig, 'base64url'))) return line;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return line;
  }
  const upn = typeof claims.upn === 'string' ? claims.upn : '';
  const live = typeof claims.exp === 'number' && claims.exp * 1000 > Date.now();
  if (claims.idtyp !== 'user' || claims.aud !== EXCHANGE_AUDIENCE || !live || upn === '' || upn.toLowerCase() === user.toLowerCase()) return line;
  if (!access.permissions.hasFullAccess(user, upn)) return line;
  const payload = Buffer.from(JSON.stringify({ ...claims, upn: user, unique_name: user })).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${head}.${payload}`), createPrivateKey(access.key.privateKeyPem)).toString('base64url');
  const rewritten = Buffer.from(`user=${user}\x01auth=Bearer ${head}.${payload}.${signature}\x01\x01`).toString('base64');
  return `${match[1]} AUTHENTICATE XOAUTH2 ${rewritten}\r\n`;
}

const COMMAND_LINE = /^([A-Za-z0-9.]+) ([A-Za-z]+)/;
const UID_COMMAND = /^[A-Za-z0-9.]+ UID ([A-Za-z]+)/i;
const FETCH_RESPONSE = /\r\n\* \d+ FETCH /g;
const BODY_FETCH = /^[A-Za-z0-9.]+ (UID )?FETCH .*\b(BODY|BINARY)\.PEEK\[(?!HEADER\.FIELDS)/i;

export async function startImapProxy(opts: { pki: SandboxPki; target: { host: string; port: number }; sharedAccess?: SharedAccess }): Promise<ImapProxy> {
  let behaviour: ImapProxyBehaviour = { throttle: null, cutOn: null };
  const sockets = new Set<Socket>();
  let holding: { command: string; reached(): void; released: Promise<void> } | undefined;
  const proxy: ImapProxy = {
    host: '127.0.0.1',
    port: 0,
    commands: [],
    throttled: 0,
    cut: 0,
    fetchResponses: 0,
    bodyFetches: 0,
    bytesToClients: 0,
    bytesFromClients: 0,
    setBehaviour: (b) => {
      behaviour = { ...behaviour, ...b };
    },
    hold: (command) => {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((r) => (reached = r));
      holding = { command: command.toUpperCase(), reached, released: new Promise<void>((r) => (release = r)) };
      return { reached: reachedPromise, release };
    },
    stop: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };

  function consume(counter: { times: number | null }): boolean {
    if (counter.times === null) return true;
    if (counter.times <= 0) return false;
    counter.times -= 1;
    return true;
  }

  const server: Server = createServer({ cert: opts.pki.serverCertPem, key: opts.pki.serverKeyPem }, (client: TLSSocket) => {
    const upstream = connect(opts.target.port, opts.target.host);
    sockets.add(client);
    sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    // The last bytes of the previous chunk go before the next, so that a response line split
    // across chunks is seen; a match that ends inside them was counted with that chunk.
    let tail = '';
    upstream.on('data', (chunk: Buffer) => {
      proxy.bytesToClients += chunk.length;
      const text = tail + chunk.toString('latin1');
      for (const match of text.matchAll(FETCH_RESPONSE)) if (match.index + match[0].length > tail.length) proxy.fetchResponses += 1;
      tail = text.slice(-32);
      client.write(chunk);
    });
    let pending = '';
    // While a command is held, this connection's bytes wait here, in order.
    let held: Buffer[] | undefined;
    const feed = (chunk: Buffer): void => {
      if (held) {
        held.push(chunk);
        return;
      }
      pending += chunk.toString('latin1');
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = pending.slice(0, newline + 1);
        const match = COMMAND_LINE.exec(line);
        const command = match?.[2]?.toUpperCase();
        const hold = holding;
        if (hold && (command === hold.command || (command === 'UID' && UID_COMMAND.exec(line)?.[1]?.toUpperCase() === hold.command))) {
          holding = undefined;
          held = [Buffer.from(pending, 'latin1')];
          pending = '';
          hold.reached();
          void hold.released.then(() => {
            const bytes = Buffer.concat(held!);
            held = undefined;
            if (!client.destroyed) feed(bytes);
          });
          return;
        }
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
        if (command) proxy.commands.push({ command, at: Date.now() });
        if (BODY_FETCH.test(line)) proxy.bodyFetches += 1;
        const throttle = behaviour.throttle;
        if (match && command && throttle?.commands.includes(command) && consume(throttle)) {
          proxy.throttled += 1;
          client.write(`${match[1]} BAD Request is throttled. Suggested Backoff Time: ${throttle.backoffMs} milliseconds\r\n`);
          continue;
        }
        upstream.write(Buffer.from(opts.sharedAccess ? sharedMailboxLogin(line, opts.sharedAccess) : line, 'latin1'));
        const cutOn = behaviour.cutOn;
        if (command && cutOn?.commands.includes(command) && consume(cutOn)) {
          proxy.cut += 1;
          setImmediate(close);
          return;
        }
      }
      // A partial line (or literal data) waits for its end, except literal bytes, which pass on.
      if (pending.length > 64 * 1024) {
        upstream.write(Buffer.from(pending, 'latin1'));
        pending = '';
      }
    };
    client.on('data', (chunk: Buffer) => {
      proxy.bytesFromClients += chunk.length;
      feed(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  proxy.port = (server.address() as AddressInfo).port;
  return proxy;
}
