/**
 * One client connection of the light IMAP imitation: the IMAP state machine (not authenticated,
 * authenticated, selected, logged out) over a line reader, answering what mailsync's poll path and
 * imapflow's login send. Commands run one after another (a login's token check is asynchronous).
 * Anything unreadable is answered with BAD and the session goes on; a line or literal past the
 * bounds closes the connection. Nothing a client sends throws out of it.
 */
import type { Socket } from 'node:net';
import { fetchItems, fetchResponse, setsSeen } from './fetch.js';
import { imapString } from './message.js';
import { ImapLineTooLong, LineReader, parseCommand, textOf, type Arg, type Command } from './parser.js';
import * as reply from './replies.js';
import { ImapArgumentError, search, sequenceSet } from './search.js';
import { EXCHANGE_FOLDERS, FLAG_BITS, type Folder, type FolderListener, type MailboxStore } from './store.js';
import { parseXoauth2, type TokenChecker } from './token.js';

/** What a session needs of its server. */
export interface SessionHost {
  store: MailboxStore;
  tokens: TokenChecker;
  capabilities: string;
  /** Takes one of the user's connection slots; false when the user has them all. */
  claim(user: string): boolean;
  release(user: string): void;
  /** Reports a moment tests wait for: a login, its refusal, an IDLE started. */
  emit(event: 'login' | 'login_refused' | 'over_limit' | 'idle' | 'bad', user: string | undefined): void;
}

/** Answers a client may leave unread before it is dropped (a poll's largest FETCH answer is far smaller). */
const MAX_UNREAD_OUTPUT = 8 * 1024 * 1024;

type State = 'not_authenticated' | 'authenticated' | 'selected' | 'logout';

export class LiteImapSession implements FolderListener {
  private state: State = 'not_authenticated';
  private user: string | undefined;
  /** Logged in beyond the connection limit: every command is refused (Exchange's behaviour). */
  private overLimit = false;
  private holdsSlot = false;
  private folder: Folder | undefined;
  private readOnly = true;
  /** EXISTS as this session last told its client. */
  private told = 0;
  private idleTag: string | undefined;
  /** The tag of an AUTHENTICATE waiting for its SASL response (no SASL-IR). */
  private saslTag: string | undefined;
  private readonly reader = new LineReader();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly socket: Socket, private readonly host: SessionHost) {
    this.write(`${reply.GREETING}\r\n`);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.closed());
  }

  private receive(chunk: Buffer): void {
    try {
      this.reader.push(chunk, (line) => {
        this.chain = this.chain.then(() => this.handle(line)).catch(() => this.drop());
      }, () => this.write('+ Ready for additional command text.\r\n'));
    } catch (err) {
      if (err instanceof ImapLineTooLong) {
        this.host.emit('bad', this.user);
        this.write(`* BAD Command line too long.\r\n${reply.BYE_TOO_LONG}\r\n`);
        this.socket.end();
        return;
      }
      this.drop();
    }
  }

  private write(text: string): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    // A client that sends commands and never reads the answers is not a poll: it is dropped
    // instead of having its answers pile up here.
    if (this.socket.writableLength > MAX_UNREAD_OUTPUT) {
      this.drop();
      return;
    }
    this.socket.write(text, 'latin1');
  }

  private drop(): void {
    this.socket.destroy();
  }

  private closed(): void {
    this.state = 'logout';
    this.folder?.unlisten(this);
    this.folder = undefined;
    if (this.holdsSlot && this.user) this.host.release(this.user);
    this.holdsSlot = false;
  }

  /** New mail in the selected folder: an idling client hears of it at once, others with their next answer. */
  mailArrived(folder: Folder): void {
    if (this.idleTag !== undefined && folder === this.folder) this.tellExists();
  }

  private tellExists(): void {
    const exists = this.folder?.messages.length ?? 0;
    if (exists !== this.told) {
      this.told = exists;
      this.write(`* ${exists} EXISTS\r\n`);
    }
  }

  private async handle(line: Buffer): Promise<void> {
    if (this.state === 'logout') return;
    if (this.idleTag !== undefined) {
      const tag = this.idleTag;
      if (line.toString('latin1').trim().toUpperCase() !== 'DONE') {
        this.host.emit('bad', this.user);
        this.write('* BAD Expected DONE.\r\n');
        return;
      }
      this.idleTag = undefined;
      this.write(`${tag} OK IDLE completed.\r\n`);
      return;
    }
    if (this.saslTag !== undefined) {
      const tag = this.saslTag;
      this.saslTag = undefined;
      await this.login(tag, line.toString('latin1').trim());
      return;
    }
    let command: Command;
    try {
      command = parseCommand(line);
    } catch {
      this.host.emit('bad', this.user);
      const tag = /^([A-Za-z0-9.]+) /.exec(line.toString('latin1'))?.[1];
      this.write(`${tag ?? '*'} ${tag ? reply.ARGUMENT_ERROR : 'BAD Command Error. 10'}\r\n`);
      return;
    }
    try {
      await this.run(command);
    } catch (err) {
      this.host.emit('bad', this.user);
      this.write(`${command.tag} ${err instanceof ImapArgumentError ? reply.ARGUMENT_ERROR : reply.COMMAND_ERROR}\r\n`);
    }
  }

  private ok(tag: string, text: string): void {
    if (this.state === 'selected') this.tellExists();
    this.write(`${tag} OK ${text}\r\n`);
  }

  private async run(c: Command): Promise<void> {
    const any = ['CAPABILITY', 'NOOP', 'LOGOUT', 'ID'];
    if (this.overLimit && c.name !== 'LOGOUT') {
      this.write(`${c.tag} ${reply.NOT_CONNECTED}\r\n`);
      return;
    }
    const unauthenticated = ['AUTHENTICATE', 'LOGIN'];
    const selectedOnly = ['CLOSE', 'UNSELECT', 'SEARCH', 'UID SEARCH', 'FETCH', 'UID FETCH', 'IDLE'];
    if (!any.includes(c.name)) {
      const allowed = unauthenticated.includes(c.name) ? this.state === 'not_authenticated'
        : selectedOnly.includes(c.name) ? this.state === 'selected' || (c.name === 'IDLE' && this.state === 'authenticated')
          : this.state === 'authenticated' || this.state === 'selected';
      if (!allowed && this.known(c.name)) {
        this.write(`${c.tag} ${reply.INVALID_STATE}\r\n`);
        return;
      }
    }
    switch (c.name) {
      case 'CAPABILITY':
        this.write(`* CAPABILITY ${this.host.capabilities}\r\n`);
        return this.ok(c.tag, 'CAPABILITY completed.');
      case 'NOOP':
        return this.ok(c.tag, 'NOOP completed.');
      case 'ID':
        this.write('* ID ("name" "Microsoft.Exchange.Imap4.Imap4Server" "version" "15.20")\r\n');
        return this.ok(c.tag, 'ID completed.');
      case 'LOGOUT':
        this.write(`${reply.BYE_LOGOUT}\r\n${c.tag} OK LOGOUT completed.\r\n`);
        this.state = 'logout';
        this.socket.end();
        return;
      case 'AUTHENTICATE': {
        const mechanism = textOf(c.args[0])?.toUpperCase();
        if (mechanism !== 'XOAUTH2' && mechanism !== 'PLAIN') throw new ImapArgumentError('unknown mechanism');
        if (mechanism === 'PLAIN') {
          // Basic authentication is off for every tenant of this imitation.
          this.write(`${c.tag} ${reply.AUTH_FAILED}\r\n`);
          this.host.emit('login_refused', undefined);
          return;
        }
        const initial = textOf(c.args[1]);
        if (initial === undefined) {
          this.saslTag = c.tag;
          this.write('+ \r\n');
          return;
        }
        return this.login(c.tag, initial);
      }
      case 'LOGIN':
        this.write(`${c.tag} ${reply.LOGIN_FAILED}\r\n`);
        this.host.emit('login_refused', undefined);
        return;
      case 'ENABLE':
        // Only where advertised (Exchange does not); nothing is enabled: no CONDSTORE, no UTF8=ACCEPT.
        if (!this.host.capabilities.split(' ').includes('ENABLE')) break;
        this.write('* ENABLED\r\n');
        return this.ok(c.tag, 'ENABLE completed.');
      case 'NAMESPACE':
        this.write('* NAMESPACE (("" "/")) NIL NIL\r\n');
        return this.ok(c.tag, 'NAMESPACE completed.');
      case 'LIST':
      case 'LSUB':
        return this.list(c);
      case 'STATUS':
        return this.status(c);
      case 'SELECT':
      case 'EXAMINE':
        return this.select(c);
      case 'CLOSE':
      case 'UNSELECT':
        this.deselect();
        this.state = 'authenticated';
        return this.ok(c.tag, `${c.name} completed.`);
      case 'CHECK':
        return this.ok(c.tag, 'CHECK completed.');
      case 'SEARCH':
      case 'UID SEARCH': {
        const folder = this.folder!;
        const found = search(c.args, folder.messages);
        const numbers = c.name === 'UID SEARCH' ? found.map((m) => m.uid) : found.map((m) => folder.messages.indexOf(m) + 1);
        this.write(`* SEARCH${numbers.length ? ` ${numbers.join(' ')}` : ''}\r\n`);
        return this.ok(c.tag, 'SEARCH completed.');
      }
      case 'FETCH':
      case 'UID FETCH':
        return this.fetch(c);
      case 'IDLE':
        this.idleTag = c.tag;
        this.write(`${reply.IDLE_CONTINUATION}\r\n`);
        // Mail that came since the last answer is told at once.
        if (this.state === 'selected') this.tellExists();
        this.host.emit('idle', this.user);
        return;
    }
    // An unknown command, or one this server does not advertise.
    this.write(`${c.tag} ${reply.COMMAND_ERROR}\r\n`);
  }

  private known(name: string): boolean {
    return ['AUTHENTICATE', 'LOGIN', 'ENABLE', 'NAMESPACE', 'LIST', 'LSUB', 'STATUS', 'SELECT', 'EXAMINE', 'CLOSE', 'UNSELECT', 'CHECK', 'SEARCH', 'UID SEARCH', 'FETCH', 'UID FETCH', 'IDLE'].includes(name);
  }

  private async login(tag: string, response: string): Promise<void> {
    const sasl = parseXoauth2(response);
    const check = sasl ? await this.host.tokens.check(sasl.user, sasl.token) : { ok: false as const, reason: 'not an XOAUTH2 response' };
    if (this.state === 'logout') return;
    if (!sasl || !check.ok) {
      this.host.emit('login_refused', sasl?.user);
      this.write(`${tag} ${reply.AUTH_FAILED}\r\n`);
      return;
    }
    this.user = sasl.user.toLowerCase();
    this.state = 'authenticated';
    if (this.host.claim(this.user)) {
      this.holdsSlot = true;
      this.host.emit('login', this.user);
    } else {
      // Exchange accepts the login and then refuses every command (microsoft-facts.md).
      this.overLimit = true;
      this.host.emit('over_limit', this.user);
    }
    this.write(`${tag} OK AUTHENTICATE completed.\r\n`);
  }

  private list(c: Command): void {
    const reference = textOf(c.args[0]);
    const pattern = textOf(c.args[1]);
    if (reference === undefined || pattern === undefined) throw new ImapArgumentError('LIST needs a reference and a pattern');
    if (pattern === '') {
      this.write(`* ${c.name} (\\Noselect) "/" ""\r\n`);
      return this.ok(c.tag, `${c.name} completed.`);
    }
    const wanted = new RegExp(`^${(reference + pattern).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/%/g, '[^/]*')}$`, 'i');
    for (const f of EXCHANGE_FOLDERS) {
      if (!wanted.test(f.name)) continue;
      const flags = ['\\HasNoChildren', ...(c.name === 'LIST' && f.use ? [f.use] : [])].join(' ');
      this.write(`* ${c.name} (${flags}) "/" ${imapString(f.name)}\r\n`);
    }
    this.ok(c.tag, `${c.name} completed.`);
  }

  private status(c: Command): void {
    const name = textOf(c.args[0]);
    const items = c.args[1];
    if (name === undefined || items?.kind !== 'list') throw new ImapArgumentError('STATUS needs a folder and items');
    const folder = this.host.store.folder(this.user!, name);
    if (!folder) {
      this.write(`${c.tag} NO The requested item could not be found.\r\n`);
      return;
    }
    const values: string[] = [];
    for (const item of items.items) {
      const key = textOf(item)?.toUpperCase();
      if (key === 'MESSAGES') values.push(`MESSAGES ${folder.messages.length}`);
      else if (key === 'UIDNEXT') values.push(`UIDNEXT ${folder.uidNext}`);
      else if (key === 'UIDVALIDITY') values.push(`UIDVALIDITY ${folder.uidValidity}`);
      else if (key === 'UNSEEN') values.push(`UNSEEN ${folder.messages.filter((m) => (m.flags & FLAG_BITS['\\Seen']) === 0).length}`);
      else if (key === 'RECENT') values.push('RECENT 0');
      else throw new ImapArgumentError('unknown STATUS item');
    }
    this.write(`* STATUS ${imapString(folder.name)} (${values.join(' ')})\r\n`);
    this.ok(c.tag, 'STATUS completed.');
  }

  private select(c: Command): void {
    const name = textOf(c.args[0]);
    if (name === undefined) throw new ImapArgumentError('SELECT needs a folder');
    this.deselect();
    this.state = 'authenticated';
    const folder = this.host.store.folder(this.user!, name);
    if (!folder) {
      this.write(`${c.tag} NO [NONEXISTENT] The requested item could not be found.\r\n`);
      return;
    }
    this.folder = folder;
    this.readOnly = c.name === 'EXAMINE';
    this.state = 'selected';
    folder.listen(this);
    this.told = folder.messages.length;
    const unseen = folder.messages.findIndex((m) => (m.flags & FLAG_BITS['\\Seen']) === 0);
    this.write(
      `* ${this.told} EXISTS\r\n* 0 RECENT\r\n* FLAGS (${reply.PERMANENT_FLAGS})\r\n` +
      `* OK [PERMANENTFLAGS (${this.readOnly ? '' : reply.PERMANENT_FLAGS})] Permanent flags\r\n` +
      (unseen >= 0 ? `* OK [UNSEEN ${unseen + 1}] Is the first unseen message\r\n` : '') +
      `* OK [UIDVALIDITY ${folder.uidValidity}] UIDVALIDITY value\r\n* OK [UIDNEXT ${folder.uidNext}] The next unique identifier value\r\n`,
    );
    this.ok(c.tag, `[${this.readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${c.name} completed.`);
  }

  private deselect(): void {
    this.folder?.unlisten(this);
    this.folder = undefined;
  }

  private fetch(c: Command): void {
    const folder = this.folder!;
    const uid = c.name === 'UID FETCH';
    const setText = textOf(c.args[0]);
    if (setText === undefined) throw new ImapArgumentError('FETCH needs a set');
    const messages = folder.messages;
    const inSet = sequenceSet(setText, uid ? (messages.at(-1)?.uid ?? 0) : messages.length);
    const items = fetchItems(c.args[1] as Arg | undefined, uid);
    const seen = setsSeen(items) && !this.readOnly;
    // Messages the client knows of (EXISTS told), as sequence numbers are the client's.
    const known = Math.min(this.told, messages.length);
    for (let i = 0; i < known; i++) {
      const message = messages[i]!;
      if (!inSet(uid ? message.uid : i + 1)) continue;
      if (seen) message.flags |= FLAG_BITS['\\Seen'];
      this.write(fetchResponse(message, i + 1, items));
    }
    this.ok(c.tag, 'FETCH completed.');
  }
}
