/**
 * What the hostile IMAP server answers, per scenario: the STATUS of INBOX,
 * the UID SEARCH that finds its one message (UID 1) and the FETCH of it,
 * which is where a poll reads envelopes, the LIST the doctor sends (every
 * folder: INBOX and Archive), and the UID MOVE of acting on mail.
 * The scenario of a connection is the local part of the user it logged in
 * as (`huge_subject@hostile.example`), so one server serves them all.
 *
 * Mail appears after the first poll: the first STATUS answers an empty
 * folder (the poll takes its baseline), later ones one new message, so the
 * second poll fetches it. Except in `odd_dates`, whose folder holds three
 * messages from the start, for the first poll to find where to begin by
 * their INTERNALDATEs. The tracked folders of following changes have their
 * own (hostile-imap-tracking.ts).
 */
import type { Socket } from 'node:net';
import { PART_SCENARIOS } from './hostile-imap-parts.js';
import { isTrackScenario, trackStatus, TRACK_SCENARIOS } from './hostile-imap-tracking.js';

export const HOSTILE_SCENARIOS = [
  /** A 5 MB subject literal. */
  'huge_subject',
  /** 100 000 addresses in To. */
  'many_addresses',
  /** An envelope that is not one: wrong nesting, unbalanced parentheses. */
  'malformed_envelope',
  /** `{999999999}` then a byte every 500 ms, forever. */
  'endless_literal',
  /** `{999999999}` then bytes as fast as the client reads them. */
  'flood_literal',
  /** A literal of a plausible size (64 KiB) that trickles a byte every 500 ms: only a deadline ends it. */
  'slow_literal',
  /** Raw invalid UTF-8 and broken encoded-words in the subject and addresses. */
  'bad_utf8',
  /** A UID SEARCH answered with a million UIDs (about 7 MB on one line). */
  'huge_search',
  /** A UID SEARCH answered with UIDs outside the range asked, twice over, unsorted and not numbers. */
  'odd_search',
  /**
   * Three messages at the first poll, received (INTERNALDATE) at a date that is none, long ago and
   * now, plus a date for a UID not asked about: only UID 3 came after the mailbox was added.
   */
  'odd_dates',
  /** Every STATUS answers another UIDVALIDITY (and more messages). */
  'uidvalidity_flips',
  /** Half a STATUS answer, then the connection is cut. */
  'disconnect_mid_command',
  /** Logs in, then never answers another command. */
  'never_answers',
  /**
   * A LIST answer whose folder name is `{999999999}` then bytes as fast as the client reads them. Reached
   * at login (imapflow sends `LIST "" ""` to a server without NAMESPACE) and by the doctor's folder check.
   */
  'flood_list',
  /** LIST of every folder (`LIST "" "*"`) answered with a million folders, each line well-formed and small. */
  'many_folders',
  /**
   * Has MOVE and UIDPLUS, and answers UID MOVE with malformed COPYUID codes: a
   * range of four billion UIDs in the untagged OK, non-numbers in the tagged one.
   */
  'bad_copyuid',
  /** Behaves: one plain message. */
  'well_behaved',
  // An attachment download's FETCHes (BODYSTRUCTURE, then the part): see hostile-imap-parts.ts.
  ...PART_SCENARIOS,
  // A tracked folder's flags FETCHes (following changes): see hostile-imap-tracking.ts.
  ...TRACK_SCENARIOS,
] as const;

export type HostileScenario = (typeof HOSTILE_SCENARIOS)[number];

export function scenarioOf(user: string | undefined): HostileScenario {
  const local = (user ?? '').split('@')[0] ?? '';
  return (HOSTILE_SCENARIOS as readonly string[]).includes(local) ? (local as HostileScenario) : 'well_behaved';
}

const DATE = '"Mon, 01 Jan 2024 00:00:00 +0000"';
const ADDRESS = '(("Sender" NIL "sender" "example.org"))';

/** An IMAP envelope: (date subject from sender reply-to to cc bcc in-reply-to message-id), fields given as IMAP text. */
function envelope(subject: string, to = ADDRESS, from = ADDRESS): string {
  return `(${DATE} ${subject} ${from} ${from} ${from} ${to} NIL NIL NIL "<hostile@example.org>")`;
}

/** A literal of raw bytes, as text to be written latin1 (one char per byte). */
function literal(bytes: Buffer): string {
  return `{${bytes.length}}\r\n${bytes.toString('latin1')}`;
}

export interface StatusAnswer {
  messages: number;
  uidNext: number;
  uidValidity: number;
}

/** STATUS of INBOX the `n`th time (from 0) this scenario's user asks. */
export function statusAnswer(scenario: HostileScenario, n: number): StatusAnswer {
  if (scenario === 'uidvalidity_flips') return { messages: n, uidNext: n + 1, uidValidity: 1000 + n };
  if (scenario === 'odd_dates') return { messages: 3, uidNext: 4, uidValidity: 1 };
  if (isTrackScenario(scenario)) return trackStatus(scenario, n);
  return n === 0 ? { messages: 0, uidNext: 1, uidValidity: 1 } : { messages: 1, uidNext: 2, uidValidity: 1 };
}

/** Writes `chunk` until the socket closes: a byte every `intervalMs`, or as fast as it drains when 0. */
function stream(socket: Socket, chunk: string, intervalMs: number, maxBytes: number): void {
  let sent = 0;
  const next = (): void => {
    if (socket.destroyed || sent >= maxBytes) return;
    sent += chunk.length;
    const flushed = socket.write(chunk);
    if (intervalMs > 0) setTimeout(next, intervalMs).unref();
    else if (flushed) setImmediate(next);
    else socket.once('drain', next);
  };
  next();
}

/** Answers `UID SEARCH UID low:high`: UID 1, the folder's one message, when it is in the range asked. */
export function writeSearch(socket: Socket, scenario: HostileScenario, range: string, line = ''): void {
  // A tracked folder's messages are all older than the mailbox: no new mail, only changes.
  if (isTrackScenario(scenario)) {
    socket.write('* SEARCH\r\n');
    return;
  }
  switch (scenario) {
    case 'odd_dates': {
      // Where to begin (SEARCH SINCE): out of range, repeated, unsorted, not numbers; else the messages in the range.
      if (/\bSINCE\b/i.test(line)) {
        socket.write('* SEARCH 3 1 2 99 abc 2\r\n');
        return;
      }
      const [low = 0, high = 0] = /^(\d+):(\d+)$/.exec(range)?.slice(1).map(Number) ?? [];
      socket.write(`* SEARCH ${[1, 2, 3].filter((uid) => uid >= low && uid <= high).join(' ')}\r\n`);
      return;
    }
    case 'huge_search': {
      const line = Array.from({ length: 1_000_000 }, (_, i) => i + 1).join(' ');
      socket.write(`* SEARCH ${line}\r\n`);
      return;
    }
    case 'odd_search':
      socket.write('* SEARCH 99999999 1 0 -3 2.5 1e400 abc 1 4294967296\r\n');
      return;
    default: {
      // `low:high`, or one UID.
      const [low = 0, high = low] = /^(\d+)(?::(\d+))?$/.exec(range)?.slice(1).filter((n) => n !== undefined).map(Number) ?? [];
      socket.write(low <= 1 && high >= 1 ? '* SEARCH 1\r\n' : '* SEARCH\r\n');
    }
  }
}

/** Capabilities after the login: the scenario's own, or `base`. */
export function capabilitiesOf(scenario: HostileScenario | undefined, base: string): string {
  return scenario === 'bad_copyuid' ? `${base} MOVE UIDPLUS` : base;
}

/** Writes `lines()` as fast as the socket drains, until it runs out or the socket closes. */
function streamLines(socket: Socket, lines: Iterator<string>, then: () => void): void {
  const next = (): void => {
    while (!socket.destroyed) {
      const line = lines.next();
      if (line.done) {
        then();
        return;
      }
      if (!socket.write(line.value)) {
        socket.once('drain', next);
        return;
      }
    }
  };
  next();
}

/** Answers LIST (`line` is the command). Returns false when the answer is not complete yet: the caller must not write the tagged OK. */
export function writeList(socket: Socket, scenario: HostileScenario, line = '', done: () => void = () => undefined): boolean {
  if (scenario === 'flood_list') {
    socket.write('* LIST (\\HasNoChildren) "/" {999999999}\r\n');
    stream(socket, 'x'.repeat(64 * 1024), 0, 999_999_999);
    return false;
  }
  if (scenario === 'many_folders' && /"\*"\s*$/.test(line)) {
    // A thousand lines per write: 1 000 000 folders, about 45 MB.
    function* lines(): Generator<string> {
      for (let i = 0; i < 1_000_000; i += 1000) {
        yield Array.from({ length: 1000 }, (_, j) => `* LIST (\\HasNoChildren) "/" "Folder ${i + j}"\r\n`).join('');
      }
    }
    streamLines(socket, lines(), done);
    return false;
  }
  // imapflow's `LIST "" ""` at login asks for the separator: the root, as RFC 3501 answers it (answering a
  // folder there makes imapflow take it for the namespace prefix, "INBOX/").
  if (/""\s*""\s*$/.test(line)) {
    socket.write('* LIST (\\Noselect) "/" ""\r\n');
    return true;
  }
  socket.write('* LIST (\\HasNoChildren) "/" INBOX\r\n');
  // Every folder: an Archive to move to as well.
  if (/"\*"\s*$/.test(line)) socket.write('* LIST (\\HasNoChildren \\Archive) "/" Archive\r\n');
  return true;
}

/** Answers UID MOVE (and COPY) of UID 1 to the tagged `tag`. */
export function writeMove(socket: Socket, scenario: HostileScenario, tag: string): void {
  if (scenario === 'bad_copyuid') {
    socket.write(`* OK [COPYUID 1 1:4000000000 1:4000000000] Moved\r\n* 1 EXPUNGE\r\n${tag} OK [COPYUID x 1 99999999999] Done\r\n`);
    return;
  }
  socket.write(`* 1 EXPUNGE\r\n${tag} OK Done\r\n`);
}

/**
 * Answers `UID FETCH … (ENVELOPE …)` for UID 1. Returns false when the
 * scenario never completes the response (the tagged OK must not follow).
 */
export function writeFetch(socket: Socket, scenario: HostileScenario): boolean {
  const head = '* 1 FETCH (UID 1 RFC822.SIZE 2048 ENVELOPE ';
  switch (scenario) {
    case 'huge_subject':
      socket.write(`${head}${envelope(literal(Buffer.alloc(5 * 1024 * 1024, 'S')))})\r\n`);
      return true;
    case 'many_addresses': {
      const one = '("Recipient" NIL "r" "example.org")';
      socket.write(`${head}${envelope('"many"', `(${Array.from({ length: 100_000 }, () => one).join('')})`)})\r\n`);
      return true;
    }
    case 'malformed_envelope':
      socket.write(`${head}(${DATE} "broken" ((("nested" ("too" ("deep"))))) NIL ((NIL NIL "x" "y") "<id>")))))\r\n`);
      return true;
    case 'endless_literal':
      socket.write(`${head}(${DATE} {999999999}\r\n`);
      stream(socket, 'x', 500, Infinity);
      return false;
    case 'flood_literal':
      socket.write(`${head}(${DATE} {999999999}\r\n`);
      stream(socket, 'x'.repeat(64 * 1024), 0, 999_999_999);
      return false;
    case 'slow_literal':
      socket.write(`${head}(${DATE} {65536}\r\n`);
      stream(socket, 'x', 500, 65_536);
      return false;
    case 'bad_utf8': {
      // Raw bytes written as latin1: an invalid lead byte, a lone continuation, an overlong "/", a truncated sequence.
      const raw = Buffer.from([0x42, 0x61, 0x64, 0x20, 0xc3, 0x28, 0x20, 0xff, 0xfe, 0x20, 0x80, 0x20, 0xc0, 0xaf, 0x20, 0xe2, 0x82]);
      const subject = literal(Buffer.concat([raw, Buffer.from(' =?utf-8?B?/w==?= =?x-nope?Q?=FF?=')]));
      const from = `((${literal(Buffer.from([0xff, 0xfe]))} NIL "bad\u00ff" "example.org"))`;
      socket.write(Buffer.from(`${head}${envelope(subject, ADDRESS, from)})\r\n`, 'latin1'));
      return true;
    }
    case 'odd_dates':
      // All three, whichever were asked for: the client keeps those it asked for.
      socket.write(
        `* 1 FETCH (UID 1 RFC822.SIZE 2048 ENVELOPE ${envelope('"Received before the mailbox was added"')})\r\n` +
        `* 2 FETCH (UID 2 RFC822.SIZE 2048 ENVELOPE ${envelope('"Received before the mailbox was added"')})\r\n` +
        `* 3 FETCH (UID 3 RFC822.SIZE 2048 ENVELOPE ${envelope('"Received after the mailbox was added"')})\r\n`,
      );
      return true;
    case 'well_behaved':
    default:
      socket.write(`${head}${envelope('"Hello from a well-behaved server"')})\r\n`);
      return true;
  }
}

/** An IMAP date-time (RFC 3501): `26-Nov-2026 09:05:03 +0000`. */
function imapDateTime(at: Date): string {
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][at.getUTCMonth()];
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(at.getUTCDate())}-${month}-${at.getUTCFullYear()} ${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`;
}

/** Answers `UID FETCH … (UID INTERNALDATE)`: when the messages were received. */
export function writeDates(socket: Socket, scenario: HostileScenario): void {
  const now = imapDateTime(new Date());
  if (scenario !== 'odd_dates') {
    socket.write(`* 1 FETCH (UID 1 INTERNALDATE "${now}")\r\n`);
    return;
  }
  socket.write(
    '* 1 FETCH (UID 1 INTERNALDATE "not a date")\r\n' +
    '* 2 FETCH (UID 2 INTERNALDATE "01-Jan-2024 00:00:00 +0000")\r\n' +
    `* 3 FETCH (UID 3 INTERNALDATE "${now}")\r\n` +
    `* 4 FETCH (UID 7 INTERNALDATE "${now}")\r\n` +
    '* 5 FETCH (UID 2 INTERNALDATE NIL)\r\n',
  );
}
