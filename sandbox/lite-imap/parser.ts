/**
 * The light IMAP imitation's reading side: client bytes into command lines (literals `{n}` and
 * `{n+}` included), and a command line into its tag, command and argument tree. Pure: no sockets.
 *
 * Bounded, since a client may send anything: a line or literal past the limits is refused with a
 * typed error the session answers (BAD, then the connection is closed), never buffered.
 */

/** A line longer than this (without its literals) is not a poll's: refused. */
export const MAX_LINE = 64 * 1024;
/** A literal longer than this is refused (a poll sends none; imapflow may quote a folder name). */
export const MAX_LITERAL = 64 * 1024;
/** Nesting of parenthesized lists accepted in one command. */
const MAX_DEPTH = 20;

export class ImapSyntaxError extends Error {
  override readonly name = 'ImapSyntaxError';
  readonly code = 'LITE_IMAP_SYNTAX';
}

export class ImapLineTooLong extends Error {
  override readonly name = 'ImapLineTooLong';
  readonly code = 'LITE_IMAP_LINE_TOO_LONG';
}

export type Arg = { kind: 'atom'; value: string } | { kind: 'string'; value: string } | { kind: 'list'; items: Arg[] };

export interface Command {
  tag: string;
  /** Upper case; for `UID SEARCH` and the like, `UID SEARCH`. */
  name: string;
  args: Arg[];
}

/**
 * Splits client bytes into command lines. A line ending in `{n}` asks for a continuation (the
 * caller sends `+ Ready`) unless it is `{n+}` (LITERAL+); the literal's bytes become part of the
 * line as a quoted-free blob the tokenizer reads by its length.
 */
export class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of a literal still to read into `pending`, or 0. */
  private literalLeft = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Feeds bytes; calls `line` for each complete command line and `continuation` when a synchronizing literal waits. */
  push(chunk: Buffer, line: (text: Buffer) => void, continuation: () => void): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.literalLeft > 0) {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.literalLeft, this.buffer.length);
        this.add(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.literalLeft -= take;
        continue;
      }
      const end = this.buffer.indexOf('\n');
      if (end === -1) {
        if (this.buffer.length + this.pendingBytes > MAX_LINE) throw new ImapLineTooLong('command line too long');
        return;
      }
      const text = this.buffer.subarray(0, end > 0 && this.buffer[end - 1] === 0x0d ? end - 1 : end);
      this.buffer = this.buffer.subarray(end + 1);
      const literal = /\{(\d{1,10})(\+?)\}$/.exec(text.subarray(Math.max(0, text.length - 14)).toString('latin1'));
      this.add(text);
      if (literal) {
        const size = Number(literal[1]);
        if (size > MAX_LITERAL) throw new ImapLineTooLong('literal too large');
        this.add(Buffer.from('\r\n'));
        this.literalLeft = size;
        if (literal[2] !== '+') continuation();
        continue;
      }
      const whole = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      line(whole);
    }
  }

  private add(part: Buffer): void {
    this.pendingBytes += part.length;
    if (this.pendingBytes > MAX_LINE + MAX_LITERAL) throw new ImapLineTooLong('command too long');
    this.pending.push(part);
  }
}

const ATOM_END = new Set([0x20, 0x28, 0x29, 0x22, 0x7b]);

/** Parses one command line (literals inline after `{n}\r\n`). Throws ImapSyntaxError. */
export function parseCommand(line: Buffer): Command {
  const text = line.toString('latin1');
  const space = text.indexOf(' ');
  const tag = space === -1 ? text : text.slice(0, space);
  if (!/^[\x21-\x7e]+$/.test(tag) || /[(){%*"\\+]/.test(tag)) throw new ImapSyntaxError('bad tag');
  const args = tokenize(text, space === -1 ? text.length : space + 1);
  const first = args.shift();
  if (!first || first.kind !== 'atom') throw new ImapSyntaxError('no command');
  let name = first.value.toUpperCase();
  if (name === 'UID') {
    const sub = args.shift();
    if (!sub || sub.kind !== 'atom') throw new ImapSyntaxError('UID without a command');
    name = `UID ${sub.value.toUpperCase()}`;
  }
  return { tag, name, args };
}

function tokenize(text: string, from: number): Arg[] {
  const root: Arg[] = [];
  const stack: Arg[][] = [root];
  let i = from;
  const top = () => stack[stack.length - 1]!;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x20) {
      i++;
    } else if (c === 0x28) {
      const list: Arg = { kind: 'list', items: [] };
      top().push(list);
      stack.push(list.items);
      if (stack.length > MAX_DEPTH) throw new ImapSyntaxError('lists nested too deep');
      i++;
    } else if (c === 0x29) {
      if (stack.length === 1) throw new ImapSyntaxError('unbalanced )');
      stack.pop();
      i++;
    } else if (c === 0x22) {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new ImapSyntaxError('unterminated string');
        const ch = text[i]!;
        if (ch === '\\') {
          value += text[i + 1] ?? '';
          i += 2;
        } else if (ch === '"') {
          i++;
          break;
        } else {
          value += ch;
          i++;
        }
      }
      top().push({ kind: 'string', value });
    } else if (c === 0x7b) {
      const match = /^\{(\d{1,10})\+?\}\r\n/.exec(text.slice(i, i + 16));
      if (!match) throw new ImapSyntaxError('bad literal');
      const start = i + match[0].length;
      const size = Number(match[1]);
      if (start + size > text.length) throw new ImapSyntaxError('short literal');
      top().push({ kind: 'string', value: text.slice(start, start + size) });
      i = start + size;
    } else {
      // An atom; a `[` section (BODY.PEEK[HEADER.FIELDS (A B)]) runs to its `]`, spaces included.
      let j = i;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5b) {
          const close = text.indexOf(']', j);
          if (close === -1) throw new ImapSyntaxError('unterminated [');
          j = close + 1;
        } else if (ATOM_END.has(d) || d < 0x20 || d > 0x7e) {
          break;
        } else {
          j++;
        }
      }
      if (j === i) throw new ImapSyntaxError('unexpected character');
      top().push({ kind: 'atom', value: text.slice(i, j) });
      i = j;
    }
  }
  if (stack.length !== 1) throw new ImapSyntaxError('unbalanced (');
  return root;
}

/** The text of an atom or string argument (a folder name, a date); undefined for a list. */
export function textOf(arg: Arg | undefined): string | undefined {
  return arg === undefined || arg.kind === 'list' ? undefined : arg.value;
}
