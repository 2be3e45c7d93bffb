/**
 * Bounds on two server answers that imapflow takes whole, for the sessions
 * that act on mail (action-session.ts):
 *
 * - LIST: imapflow collects up to a million folders (MAX_COLLECTED_RESPONSES)
 *   before it gives up, each small enough to pass the per-response bounds
 *   (BOUNDED_RESPONSES): a hostile server could make an API process hold
 *   hundreds of MB. Past `maxListed` folders the connection is dropped.
 * - COPYUID (RFC 4315) in the answer to MOVE or COPY: imapflow expands its
 *   two UID sets into arrays and a Map of up to 16 million entries each.
 *   A real answer names at most the UIDs asked about; a code whose sets are
 *   larger, or malformed, is removed before imapflow reads it, so the move
 *   reports no UID for the target (which the API says as `uid: null`).
 *
 * Both hook imapflow's `exec` (the one method every command goes through;
 * internal in imapflow 2.10, not in its type declarations) on this one
 * client instance. test/integration/hostile-imap.test.ts fails if a new
 * imapflow stops calling it.
 */
import type { ImapFlow } from 'imapflow';

interface ImapAttribute {
  value?: unknown;
  section?: ImapAttribute[];
}

interface ImapResponse {
  attributes?: ImapAttribute[];
}

type UntaggedHandler = (untagged: ImapResponse) => unknown;

interface ExecOptions {
  untagged?: Record<string, UntaggedHandler>;
}

type Exec = (command: string, attributes: unknown, options?: ExecOptions) => Promise<{ response: ImapResponse; next: () => void }>;

export interface ResponseGuards {
  /** Folders one LIST may answer; past it `onListOverflow` runs (and should drop the connection). */
  maxListed: number;
  onListOverflow: () => void;
  /** UIDs one COPYUID may name: the most a MOVE or COPY of this service asks about. */
  maxCopyUids: number;
  /** Told of every COPYUID response code: kept (true) or removed as malformed (false). */
  onCopyUid?: (kept: boolean) => void;
}

const MAX_UID = 4_294_967_295;
const UID_RANGE = /^(\d{1,10})(?::(\d{1,10}))?$/;

/** How many UIDs a uid-set names, without expanding it; undefined when it is malformed or names more than `max`. */
export function uidSetSize(value: unknown, max: number): number | undefined {
  // 22 characters ("4294967295:4294967295,") per element at most.
  if (typeof value !== 'string' || value === '' || value.length > max * 22) return undefined;
  let size = 0;
  for (const part of value.split(',')) {
    const match = UID_RANGE.exec(part);
    if (!match) return undefined;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (first < 1 || last < 1 || first > MAX_UID || last > MAX_UID) return undefined;
    size += Math.abs(last - first) + 1;
    if (size > max) return undefined;
  }
  return size;
}

/**
 * Removes a COPYUID response code whose UID sets are malformed, unequal or larger than `max`.
 * Answers undefined when the response has no COPYUID, else whether it was kept.
 */
export function dropBadCopyUid(response: ImapResponse | undefined, max: number): boolean | undefined {
  const first = response?.attributes?.[0];
  const section = first?.section;
  if (!first || !Array.isArray(section) || String(section[0]?.value ?? '').toUpperCase() !== 'COPYUID') return undefined;
  const source = uidSetSize(section[2]?.value, max);
  const target = uidSetSize(section[3]?.value, max);
  const validity = section[1]?.value;
  const kept = source !== undefined && source === target && typeof validity === 'string' && /^\d{1,10}$/.test(validity);
  if (!kept) first.section = [];
  return kept;
}

const COPYING = new Set(['MOVE', 'UID MOVE', 'COPY', 'UID COPY']);
const LISTING = new Set(['LIST', 'XLIST']);

/** Installs the guards on `client`; false when this imapflow has no `exec` to hook (the bounds are then imapflow's own). */
export function guardResponses(client: ImapFlow, guards: ResponseGuards): boolean {
  const target = client as unknown as { exec?: Exec };
  const original = target.exec;
  if (typeof original !== 'function') return false;
  const exec: Exec = original.bind(client);
  const tell = (kept: boolean | undefined): void => {
    if (kept !== undefined) guards.onCopyUid?.(kept);
  };
  target.exec = (command, attributes, options) => {
    const name = command.toUpperCase();
    const untagged = options?.untagged;
    if (LISTING.has(name) && untagged?.[name]) {
      const handle = untagged[name];
      let listed = 0;
      untagged[name] = (response) => {
        listed += 1;
        if (listed === guards.maxListed + 1) guards.onListOverflow();
        return listed > guards.maxListed ? undefined : handle(response);
      };
    }
    if (!COPYING.has(name)) return exec(command, attributes, options);
    if (untagged?.OK) {
      const handle = untagged.OK;
      untagged.OK = (response) => {
        tell(dropBadCopyUid(response, guards.maxCopyUids));
        return handle(response);
      };
    }
    return exec(command, attributes, options).then((result) => {
      tell(dropBadCopyUid(result.response, guards.maxCopyUids));
      return result;
    });
  };
  return true;
}
