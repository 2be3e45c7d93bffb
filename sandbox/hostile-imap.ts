/**
 * A scripted TLS IMAP server that misbehaves on purpose, standing in for a
 * broken or malicious outlook.office365.com:993. It speaks just enough IMAP
 * for a poll (greeting, CAPABILITY with AUTH=XOAUTH2 SASL-IR, AUTHENTICATE,
 * STATUS, EXAMINE/SELECT, UID SEARCH, UID FETCH, NOOP, IDLE, LOGOUT) and for
 * acting on mail (LIST, UID MOVE, with MOVE and UIDPLUS in `bad_copyuid` only; anything else is
 * answered OK) and then does what its scenario says (hostile-imap-scenarios.ts; a tracked
 * folder's flags and Message-IDs: hostile-imap-tracking.ts).
 * Every login is accepted: the token is not checked, only the user is read,
 * whose local part names the scenario.
 *
 *   const hostile = await startHostileImap({ pki });
 *   // a mailbox huge_subject@hostile.example with imap { host: '127.0.0.1', port: hostile.port, secure: true }
 *
 * `greeting: false` starts a server that accepts TLS and then says nothing at all.
 */
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { SandboxPki } from './pki.js';
import { capabilitiesOf, scenarioOf, statusAnswer, writeDates, writeFetch, writeList, writeMove, writeSearch, type HostileScenario } from './hostile-imap-scenarios.js';
import { writePartFetch } from './hostile-imap-parts.js';
import { writeTrackFetch } from './hostile-imap-tracking.js';

export { HOSTILE_SCENARIOS, type HostileScenario } from './hostile-imap-scenarios.js';

export interface HostileImapOptions {
  pki: SandboxPki;
  /** Send the greeting (default true); false: never say anything. */
  greeting?: boolean;
}

export interface HostileImap {
  host: '127.0.0.1';
  port: number;
  /** Commands received, oldest first, with the scenario of the connection (no arguments: they carry tokens). */
  commands: { scenario: HostileScenario | undefined; command: string; at: number }[];
  /** Connections accepted so far. */
  connections: number;
  /** How many STATUS commands a scenario has answered. */
  statusCount(scenario: HostileScenario): number;
  /** Connections of a scenario's user still open. */
  openConnections(scenario: HostileScenario): number;
  stop(): Promise<void>;
}

const CAPABILITIES = 'IMAP4rev1 AUTH=XOAUTH2 SASL-IR IDLE';
/** A client line longer than this is not IMAP from a poll: the connection is dropped. */
const MAX_CLIENT_LINE = 64 * 1024;

interface Connection {
  socket: Socket;
  scenario: HostileScenario | undefined;
  /** The tag of a running IDLE, answered when DONE arrives. */
  idleTag: string | undefined;
}

/** The user of a SASL XOAUTH2 initial response: base64("user=" u "\x01auth=Bearer " t "\x01\x01"). */
function xoauth2User(initial: string | undefined): string | undefined {
  const decoded = Buffer.from(initial ?? '', 'base64').toString('utf8');
  const [first] = decoded.split('\u0001');
  return first?.startsWith('user=') ? first.slice('user='.length) : undefined;
}

export async function startHostileImap(options: HostileImapOptions): Promise<HostileImap> {
  const sockets = new Set<Socket>();
  const open = new Set<Connection>();
  const statuses = new Map<HostileScenario, number>();
  const state: HostileImap = {
    host: '127.0.0.1',
    port: 0,
    commands: [],
    connections: 0,
    statusCount: (scenario) => statuses.get(scenario) ?? 0,
    openConnections: (scenario) => [...open].filter((c) => c.scenario === scenario).length,
    stop: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };

  function answer(conn: Connection, line: string): void {
    const { socket } = conn;
    if (conn.idleTag) {
      if (line.trim().toUpperCase() === 'DONE') socket.write(`${conn.idleTag} OK IDLE terminated\r\n`);
      conn.idleTag = undefined;
      return;
    }
    const [tag = '*', rawCommand = '', ...args] = line.split(' ');
    let command = rawCommand.toUpperCase();
    if (command === 'UID') command = `UID ${(args[0] ?? '').toUpperCase()}`;
    state.commands.push({ scenario: conn.scenario, command, at: Date.now() });
    // After the login, a silent server: commands are read and never answered.
    if (conn.scenario === 'never_answers' && command !== 'LOGOUT') return;
    switch (command) {
      case 'CAPABILITY':
        socket.write(`* CAPABILITY ${capabilitiesOf(conn.scenario, CAPABILITIES)}\r\n${tag} OK CAPABILITY completed\r\n`);
        return;
      case 'AUTHENTICATE':
        conn.scenario = scenarioOf(xoauth2User(args[1]));
        socket.write(`${tag} OK [CAPABILITY ${capabilitiesOf(conn.scenario, CAPABILITIES)}] AUTHENTICATE completed\r\n`);
        return;
      case 'STATUS': {
        const scenario = conn.scenario ?? 'well_behaved';
        const n = statuses.get(scenario) ?? 0;
        statuses.set(scenario, n + 1);
        const s = statusAnswer(scenario, n);
        if (scenario === 'disconnect_mid_command') {
          socket.write(`* STATUS INBOX (MESSAGES ${s.messages} UIDN`);
          setImmediate(() => socket.destroy());
          return;
        }
        socket.write(`* STATUS INBOX (MESSAGES ${s.messages} UIDNEXT ${s.uidNext} UIDVALIDITY ${s.uidValidity})\r\n${tag} OK STATUS completed\r\n`);
        return;
      }
      case 'SELECT':
      case 'EXAMINE': {
        const s = statusAnswer(conn.scenario ?? 'well_behaved', Math.max(1, statuses.get(conn.scenario ?? 'well_behaved') ?? 1));
        socket.write(
          `* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)\r\n* ${s.messages} EXISTS\r\n* OK [UIDVALIDITY ${s.uidValidity}] UIDs valid\r\n` +
          `* OK [UIDNEXT ${s.uidNext}] Predicted next UID\r\n${tag} OK [${command === 'EXAMINE' ? 'READ-ONLY' : 'READ-WRITE'}] ${command} completed\r\n`,
        );
        return;
      }
      case 'UID SEARCH':
        // `UID SEARCH UID <low>:<high>` (imapflow may put CHARSET or ALL first: the range is the last argument).
        writeSearch(socket, conn.scenario ?? 'well_behaved', args[args.length - 1] ?? '', line);
        socket.write(`${tag} OK SEARCH completed\r\n`);
        return;
      case 'UID FETCH':
      case 'FETCH': {
        // A tracked folder's flags and Message-IDs, as the folder is at this poll (hostile-imap-tracking.ts).
        const poll = (statuses.get(conn.scenario ?? 'well_behaved') ?? 1) - 1;
        if (writeTrackFetch(socket, conn.scenario ?? 'well_behaved', line, poll, () => socket.write(`${tag} OK FETCH completed\r\n`))) return;
        // An attachment download: BODYSTRUCTURE, then the part (hostile-imap-parts.ts).
        const part = writePartFetch(socket, conn.scenario ?? 'well_behaved', line);
        if (part === 'done') socket.write(`${tag} OK FETCH completed\r\n`);
        if (part !== 'not_mine') return;
        // A FETCH without ENVELOPE (a poll announcing a message whose envelope was too large) gets the size alone.
        if (/INTERNALDATE/i.test(line)) {
          writeDates(socket, conn.scenario ?? 'well_behaved');
          socket.write(`${tag} OK FETCH completed\r\n`);
        } else if (!/ENVELOPE/i.test(line)) socket.write(`* 1 FETCH (UID 1 RFC822.SIZE 2048)\r\n${tag} OK FETCH completed\r\n`);
        else if (writeFetch(socket, conn.scenario ?? 'well_behaved')) socket.write(`${tag} OK FETCH completed\r\n`);
        return;
      }
      case 'LIST':
        if (writeList(socket, conn.scenario ?? 'well_behaved', line, () => socket.write(`${tag} OK LIST completed\r\n`))) socket.write(`${tag} OK LIST completed\r\n`);
        return;
      case 'UID MOVE':
        writeMove(socket, conn.scenario ?? 'well_behaved', tag);
        return;
      case 'IDLE':
        conn.idleTag = tag;
        socket.write('+ idling\r\n');
        return;
      case 'LOGOUT':
        socket.write(`* BYE logging out\r\n${tag} OK LOGOUT completed\r\n`);
        socket.end();
        return;
      default:
        socket.write(`${tag} OK ${command || 'NOOP'} completed\r\n`);
    }
  }

  const server: Server = createServer({ cert: options.pki.serverCertPem, key: options.pki.serverKeyPem }, (socket: TLSSocket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    const conn: Connection = { socket, scenario: undefined, idleTag: undefined };
    open.add(conn);
    socket.on('close', () => {
      sockets.delete(socket);
      open.delete(conn);
    });
    if (options.greeting === false) return;
    socket.write(`* OK [CAPABILITY ${CAPABILITIES}] hostile IMAP ready\r\n`);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end = pending.indexOf('\r\n');
      while (end !== -1 && !socket.destroyed) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        answer(conn, line);
        end = pending.indexOf('\r\n');
      }
      if (pending.length > MAX_CLIENT_LINE) socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  state.port = (server.address() as AddressInfo).port;
  return state;
}
