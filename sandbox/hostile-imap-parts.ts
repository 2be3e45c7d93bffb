/**
 * The hostile IMAP server's answers to what an attachment download sends:
 * `UID FETCH 1 (… BODYSTRUCTURE)` and `UID FETCH 1 (… BODY.PEEK[2.MIME]
 * BODY.PEEK[2]<offset.length>)`. Message 1 is a text part (1) and a base64
 * attachment of 1 000 bytes (2), unless the scenario says otherwise:
 *
 * - `endless_part`: the part's first chunk is announced as a 64 KiB literal,
 *   then trickles a byte every 500 ms (the socket is never idle).
 * - `flood_part`: the part is a `{999999999}` literal sent as fast as the client reads.
 * - `overflow_part`: every chunk asked for comes back full, forever: far more
 *   than the 1 000 bytes BODYSTRUCTURE described.
 * - `huge_bodystructure`: a BODYSTRUCTURE of 100 000 parts (about 3 MB, a million tokens).
 * - `deep_bodystructure`: a BODYSTRUCTURE nested 20 000 multiparts deep.
 * - `malformed_bodystructure`: a BODYSTRUCTURE that is not one.
 */
import type { Socket } from 'node:net';

export const PART_SCENARIOS = ['endless_part', 'flood_part', 'overflow_part', 'huge_bodystructure', 'deep_bodystructure', 'malformed_bodystructure'] as const;
export type PartScenario = (typeof PART_SCENARIOS)[number];

const TEXT_PART = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)';
const FILE_PART = '("application" "octet-stream" ("name" "a.bin") NIL NIL "base64" 1000 NIL ("attachment" ("filename" "a.bin")) NIL NIL)';
const STRUCTURE = `(${TEXT_PART}${FILE_PART} "mixed" ("boundary" "b") NIL NIL NIL)`;
const MIME = 'Content-Type: application/octet-stream; name="a.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="a.bin"\r\n\r\n';

/** Writes `chunk` until the socket closes: every `intervalMs`, or as fast as it drains when 0. */
function stream(socket: Socket, chunk: string, intervalMs: number): void {
  const next = (): void => {
    if (socket.destroyed) return;
    const flushed = socket.write(chunk);
    if (intervalMs > 0) setTimeout(next, intervalMs).unref();
    else if (flushed) setImmediate(next);
    else socket.once('drain', next);
  };
  next();
}

function structureOf(scenario: string): string {
  switch (scenario) {
    case 'huge_bodystructure':
      return `(${Array.from({ length: 100_000 }, () => FILE_PART).join('')} "mixed" NIL NIL NIL NIL)`;
    case 'deep_bodystructure':
      return `${'('.repeat(20_000)}${TEXT_PART}${' "mixed")'.repeat(20_000)}`;
    case 'malformed_bodystructure':
      return '("application" ("name" ((( NIL "base64" -5 ("attachment" "x")))';
    default:
      return STRUCTURE;
  }
}

/**
 * Answers a FETCH of BODYSTRUCTURE or of a body part; false when the line asks for neither (the
 * caller answers it), or when the scenario never completes the response (no tagged OK must follow).
 */
export function writePartFetch(socket: Socket, scenario: string, line: string): 'done' | 'unfinished' | 'not_mine' {
  if (/BODYSTRUCTURE/i.test(line)) {
    socket.write(`* 1 FETCH (UID 1 RFC822.SIZE 2048 FLAGS () BODYSTRUCTURE ${structureOf(scenario)})\r\n`);
    return 'done';
  }
  const asked = /BODY\.PEEK\[2\]<(\d+)\.(\d+)>/i.exec(line);
  if (!asked) return 'not_mine';
  const [start, length] = [Number(asked[1]), Number(asked[2])];
  const mime = /BODY\.PEEK\[2\.MIME\]/i.test(line) ? `BODY[2.MIME] {${MIME.length}}\r\n${MIME} ` : '';
  const head = `* 1 FETCH (UID 1 RFC822.SIZE 2048 ${mime}BODY[2]<${start}> `;
  switch (scenario) {
    case 'endless_part':
      socket.write(`${head}{${length}}\r\n`);
      stream(socket, 'A', 500);
      return 'unfinished';
    case 'flood_part':
      socket.write(`${head}{999999999}\r\n`);
      stream(socket, 'A'.repeat(64 * 1024), 0);
      return 'unfinished';
    case 'overflow_part':
      socket.write(`${head}{${length}}\r\n${'A'.repeat(length)})\r\n`);
      return 'done';
    default: {
      const body = Buffer.alloc(1000, 7).toString('base64').slice(start, start + length);
      socket.write(`${head}{${body.length}}\r\n${body})\r\n`);
      return 'done';
    }
  }
}
