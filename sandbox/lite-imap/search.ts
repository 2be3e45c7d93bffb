/**
 * Sequence sets and SEARCH keys as the light IMAP imitation evaluates them: what imapflow sends for
 * a poll (UID ranges, SINCE/BEFORE/ON, the flag keys, NOT, OR, ALL). Unknown keys are a typed
 * error the session answers with BAD.
 */
import type { Arg } from './parser.js';
import { searchDate } from './message.js';
import { FLAG_BITS, type StoredMessage } from './store.js';

export class ImapArgumentError extends Error {
  override readonly name = 'ImapArgumentError';
  readonly code = 'LITE_IMAP_ARGUMENT';
}

/** Largest number of ranges in one set: a poll sends a handful. */
const MAX_RANGES = 10_000;

/** A predicate for numbers of a set (`1:5,7,9:*`); `*` is `max` (the largest UID or sequence number). */
export function sequenceSet(text: string, max: number): (n: number) => boolean {
  const parts = text.split(',');
  if (parts.length > MAX_RANGES) throw new ImapArgumentError('sequence set too long');
  const ranges: [number, number][] = [];
  for (const part of parts) {
    const match = /^(\d+|\*)(?::(\d+|\*))?$/.exec(part);
    if (!match) throw new ImapArgumentError('bad sequence set');
    const value = (v: string) => (v === '*' ? max : Number(v));
    const a = value(match[1]!);
    const b = match[2] === undefined ? a : value(match[2]);
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || (a === 0 && match[1] !== '*') || a > 4_294_967_295 || b > 4_294_967_295) throw new ImapArgumentError('bad sequence number');
    ranges.push([Math.min(a, b), Math.max(a, b)]);
  }
  return (n) => ranges.some(([low, high]) => n >= low && n <= high);
}

type Matcher = (message: StoredMessage, seq: number) => boolean;

const FLAG_KEYS: Record<string, [number, boolean]> = {
  SEEN: [FLAG_BITS['\\Seen'], true], UNSEEN: [FLAG_BITS['\\Seen'], false],
  ANSWERED: [FLAG_BITS['\\Answered'], true], UNANSWERED: [FLAG_BITS['\\Answered'], false],
  FLAGGED: [FLAG_BITS['\\Flagged'], true], UNFLAGGED: [FLAG_BITS['\\Flagged'], false],
  DELETED: [FLAG_BITS['\\Deleted'], true], UNDELETED: [FLAG_BITS['\\Deleted'], false],
  DRAFT: [FLAG_BITS['\\Draft'], true], UNDRAFT: [FLAG_BITS['\\Draft'], false],
};

const DAY_MS = 86_400_000;

/** The messages of `messages` (in sequence order) that match the search keys `args`. */
export function search(args: Arg[], messages: readonly StoredMessage[]): StoredMessage[] {
  const maxUid = messages.length === 0 ? 0 : messages[messages.length - 1]!.uid;
  let at = 0;
  if (args[0]?.kind === 'atom' && args[0].value.toUpperCase() === 'CHARSET') {
    const charset = args[1]?.kind === 'list' ? undefined : args[1]?.value.toUpperCase();
    if (charset !== 'UTF-8' && charset !== 'US-ASCII') throw new ImapArgumentError('unsupported charset');
    at = 2;
  }
  const next = (): Arg => {
    const arg = args[at++];
    if (arg === undefined) throw new ImapArgumentError('missing search argument');
    return arg;
  };
  const one = (arg: Arg, depth: number): Matcher => {
    if (depth > 20) throw new ImapArgumentError('search nested too deep');
    if (arg.kind === 'list') return all(arg.items, depth + 1);
    const key = arg.value.toUpperCase();
    if (key === 'ALL') return () => true;
    if (key in FLAG_KEYS) {
      const [bit, set] = FLAG_KEYS[key]!;
      return (m) => ((m.flags & bit) !== 0) === set;
    }
    if (key === 'UID') {
      const set = sequenceSet(textOrThrow(next()), maxUid);
      return (m) => set(m.uid);
    }
    if (key === 'NOT') {
      const inner = one(next(), depth + 1);
      return (m, s) => !inner(m, s);
    }
    if (key === 'OR') {
      const a = one(next(), depth + 1);
      const b = one(next(), depth + 1);
      return (m, s) => a(m, s) || b(m, s);
    }
    if (key === 'SINCE' || key === 'BEFORE' || key === 'ON') {
      const day = searchDate(textOrThrow(next()));
      if (day === undefined) throw new ImapArgumentError('bad date');
      if (key === 'SINCE') return (m) => m.internalDate >= day;
      if (key === 'BEFORE') return (m) => m.internalDate < day;
      return (m) => m.internalDate >= day && m.internalDate < day + DAY_MS;
    }
    if (/^[\d*]/.test(key)) {
      const set = sequenceSet(key, messages.length);
      return (_m, seq) => set(seq);
    }
    throw new ImapArgumentError(`unsupported search key ${key.slice(0, 40)}`);
  };
  const all = (items: Arg[], depth: number): Matcher => {
    const saved = { args, at };
    args = items;
    at = 0;
    const matchers: Matcher[] = [];
    while (at < args.length) matchers.push(one(next(), depth));
    ({ args, at } = saved);
    return (m, s) => matchers.every((f) => f(m, s));
  };
  const matchers: Matcher[] = [];
  while (at < args.length) matchers.push(one(next(), 0));
  if (matchers.length === 0) throw new ImapArgumentError('no search keys');
  return messages.filter((m, i) => matchers.every((f) => f(m, i + 1)));
}

function textOrThrow(arg: Arg): string {
  if (arg.kind === 'list') throw new ImapArgumentError('expected an atom');
  return arg.value;
}
