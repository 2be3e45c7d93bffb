/**
 * The hostile IMAP server's answers to what following changes (issue 16)
 * sends of a tracked folder: `FETCH <n>:* (UID FLAGS)` (the newest messages,
 * by sequence number), `UID FETCH <low>:<high> (UID FLAGS)` (those pushed out
 * of the window) and `UID FETCH <set> (UID BODY.PEEK[HEADER.FIELDS
 * (MESSAGE-ID)])`. Each scenario's folder changes after its first two polls
 * (the `n`th STATUS, from 0, starts poll `n`): poll 0 takes the baseline,
 * poll 1 sees nothing new, poll 2 on sees the change, so the diff is exercised.
 * No mail is new to a poll (UID SEARCH answers nothing): every webhook is a
 * change of the window.
 *
 * - `flags_outside_window`: UIDs 1 2 3; from poll 2, 1 is gone, 3 is \Flagged
 *   and 4 has arrived. Every flags FETCH also answers for messages not asked
 *   about: a sequence number past EXISTS (a UID new at every poll, and one of
 *   the window with other flags), sequence 0, UIDs out of the range asked, not
 *   numbers or beyond 32 bits, and a duplicate.
 * - `million_uids`: EXISTS 1 000 000 (UIDs 1 to 1 000 000); the FETCH of the
 *   newest thousand is answered for all million, as fast as the client reads
 *   (about 40 MB), until the connection closes. From poll 2, UID 1 000 000 is
 *   \Flagged (a client that reads the million sees the change).
 * - `many_keywords`: UIDs 1 2 3; from poll 2, UID 2 has 20 000 keywords (some
 *   of 10 000 characters) besides \Seen and \Flagged: about 250 KB of FLAGS.
 * - `flood_message_ids`: UIDs 1 2 3, unchanged; the FETCH of their Message-IDs
 *   (the baseline's) is answered a million times, as fast as the client reads.
 */
import type { Socket } from 'node:net';

export const TRACK_SCENARIOS = ['flags_outside_window', 'million_uids', 'many_keywords', 'flood_message_ids'] as const;
export type TrackScenario = (typeof TRACK_SCENARIOS)[number];

export const isTrackScenario = (scenario: string): scenario is TrackScenario => (TRACK_SCENARIOS as readonly string[]).includes(scenario);

const MILLION = 1_000_000;
/** The poll from which each folder has changed. */
const CHANGED_FROM = 2;

interface Message {
  uid: number;
  flags: string;
}

/** The folder at poll `n` (million_uids' million are generated: see millionFlags). */
function messagesOf(scenario: TrackScenario, n: number): Message[] {
  const changed = n >= CHANGED_FROM;
  switch (scenario) {
    case 'flags_outside_window':
      return changed
        ? [{ uid: 2, flags: '\\Seen' }, { uid: 3, flags: '\\Flagged' }, { uid: 4, flags: '' }]
        : [{ uid: 1, flags: '' }, { uid: 2, flags: '\\Seen' }, { uid: 3, flags: '' }];
    case 'many_keywords': {
      if (!changed) return [{ uid: 1, flags: '' }, { uid: 2, flags: '\\Seen' }, { uid: 3, flags: '' }];
      const huge = Array.from({ length: 20 }, (_, i) => `$huge${i}${'K'.repeat(10_000)}`);
      const keywords = Array.from({ length: 20_000 }, (_, i) => `$kw${i}`);
      return [{ uid: 1, flags: '' }, { uid: 2, flags: [huge[0], '\\Seen', '\\Recent', '\\Flagged', ...huge.slice(1), ...keywords].join(' ') }, { uid: 3, flags: '' }];
    }
    case 'flood_message_ids':
      return [{ uid: 1, flags: '' }, { uid: 2, flags: '\\Seen' }, { uid: 3, flags: '' }];
    default:
      return [];
  }
}

/** STATUS (and SELECT) of INBOX at poll `n`. */
export function trackStatus(scenario: TrackScenario, n: number): { messages: number; uidNext: number; uidValidity: number } {
  if (scenario === 'million_uids') return { messages: MILLION, uidNext: MILLION + 1, uidValidity: 1 };
  if (scenario === 'flags_outside_window' && n >= CHANGED_FROM) return { messages: 3, uidNext: 5, uidValidity: 1 };
  return { messages: 3, uidNext: 4, uidValidity: 1 };
}

/** The UIDs of a sequence set (`1:3,7`, `*` as `max`), or undefined when there are more than `limit`. */
function setOf(set: string, max: number, limit = 10_000): number[] | undefined {
  const out: number[] = [];
  for (const part of set.split(',')) {
    const [low, high = low] = part.split(':').map((v) => (v === '*' ? max : Number(v)));
    if (!Number.isInteger(low) || !Number.isInteger(high)) continue;
    for (let v = Math.min(low!, high!); v <= Math.max(low!, high!); v += 1) {
      if (out.length >= limit) return undefined;
      out.push(v);
    }
  }
  return out;
}

const fetchLine = (seq: number | string, uid: number | string, flags: string): string => `* ${seq} FETCH (UID ${uid} FLAGS (${flags}))\r\n`;

/** Writes `lines` as fast as the socket drains, then calls `then`; stops when the socket closes. */
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

/** million_uids' flags FETCH: every message (not only those asked about), a thousand lines per write. */
function* millionFlags(n: number): Generator<string> {
  for (let seq = 1; seq <= MILLION; seq += 1000) {
    let chunk = '';
    for (let i = seq; i < seq + 1000; i += 1) chunk += fetchLine(i, i, i === MILLION && n >= CHANGED_FROM ? '\\Seen \\Flagged' : '\\Seen');
    yield chunk;
  }
}

/** flood_message_ids' Message-ID FETCH: a million answers (UIDs 1 to 3 over and over), a thousand per write. */
function* floodOfMessageIds(): Generator<string> {
  for (let i = 0; i < MILLION; i += 1000) {
    let chunk = '';
    for (let j = i; j < i + 1000; j += 1) chunk += messageIdLine((j % 3) + 1, (j % 3) + 1);
    yield chunk;
  }
}

/** Answers of flags_outside_window for what was not asked about: all are to be dropped. */
function outsiders(n: number, exists: number, askedHigh: number): string {
  return fetchLine(exists + 1 + (n % 3), 100 + n, '\\Seen') +
    fetchLine(exists + 5, 3, '\\Deleted \\Answered') +
    fetchLine(0, 70 + n, '\\Seen') +
    fetchLine(1, askedHigh + 1000 + n, '\\Flagged') +
    fetchLine(2, 'abc', '\\Deleted') +
    fetchLine(2, 4_294_967_296, '') +
    fetchLine(3, -1, '\\Seen');
}

function messageIdLine(seq: number, uid: number): string {
  const header = `Message-ID: <track-${uid}@hostile.example>\r\n\r\n`;
  return `* ${seq} FETCH (UID ${uid} BODY[HEADER.FIELDS (MESSAGE-ID)] {${header.length}}\r\n${header})\r\n`;
}

/**
 * Answers a FETCH of a tracked folder (`line` is the command, `n` the poll) and calls `done` when
 * the answer is complete (the caller writes the tagged OK). False when it is not one of these.
 */
export function writeTrackFetch(socket: Socket, scenario: string, line: string, n: number, done: () => void): boolean {
  if (!isTrackScenario(scenario)) return false;
  const uid = /^\S+ UID /i.test(line);
  const set = /FETCH (\S+) /i.exec(line)?.[1] ?? '';
  const exists = trackStatus(scenario, n).messages;
  if (scenario === 'million_uids') {
    if (/MESSAGE-ID/i.test(line)) {
      const uids = setOf(set, MILLION) ?? [];
      socket.write(uids.filter((u) => u >= 1 && u <= MILLION).map((u) => messageIdLine(u, u)).join(''));
      done();
    } else {
      streamLines(socket, millionFlags(n), done);
    }
    return true;
  }
  if (scenario === 'flood_message_ids' && /MESSAGE-ID/i.test(line)) {
    streamLines(socket, floodOfMessageIds(), done);
    return true;
  }
  const messages = messagesOf(scenario, n);
  const asked = setOf(set, uid ? Math.max(...messages.map((m) => m.uid)) : exists) ?? [];
  const chosen = messages.map((m, i) => ({ ...m, seq: i + 1 })).filter((m) => asked.includes(uid ? m.uid : m.seq));
  if (/MESSAGE-ID/i.test(line)) {
    socket.write(`${chosen.map((m) => messageIdLine(m.seq, m.uid)).join('')}${messageIdLine(1, 999)}`);
  } else {
    let answer = chosen.map((m) => fetchLine(m.seq, m.uid, m.flags)).join('');
    if (scenario === 'flags_outside_window') {
      // A duplicate of the first answer, then what was not asked about.
      answer += (chosen[0] ? fetchLine(chosen[0].seq, chosen[0].uid, chosen[0].flags) : '') + outsiders(n, exists, Math.max(0, ...asked));
    }
    socket.write(answer);
  }
  done();
  return true;
}
