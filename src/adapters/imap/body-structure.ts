/**
 * IMAP part numbers (RFC 3501 6.4.5) from a BODYSTRUCTURE, as imapflow parsed
 * it. The numbers are computed here from the tree's shape, not read from
 * imapflow's `part`, which gives the body of an encapsulated message that is
 * not multipart its wrapper's number ("2") where IMAP says "2.1", and a
 * message that is not multipart no number where IMAP says "1".
 *
 * - A message that is not multipart has one part: "1".
 * - The parts of a multipart are numbered from 1 under their parent's number.
 * - A message/rfc822 part "2" holds a message: when that message is multipart
 *   its parts are "2.1", "2.2", …; when it is not, its body is "2.1".
 *
 * The server's answer is walked with bounds (depth, parts): a hostile server
 * may send a structure of any shape, nested thousands deep.
 */
import type { MessageStructureObject } from 'imapflow';

/** One part that is not multipart, as BODYSTRUCTURE describes it. */
export interface BodyPart {
  /** The IMAP part number: "1", "2", "1.2", "3.1". */
  part: string;
  /** type/subtype, lower case. */
  contentType: string;
  /** Content-Type parameters (charset, name), as imapflow decoded them. */
  parameters: Record<string, string>;
  /** Content-Transfer-Encoding, lower case (base64, quoted-printable, 7bit…). */
  encoding: string | null;
  /** Size of the part as stored (encoded), in bytes. */
  size: number;
  disposition: string | null;
  /** The filename of Content-Disposition, or else the name of Content-Type. */
  filename: string | null;
  /** Content-ID without angle brackets. */
  contentId: string | null;
}

/** Deeper than this, the rest of the structure is not walked (real mail nests a handful of levels). */
export const MAX_DEPTH = 32;
/** Parts listed at most; the rest are not walked. */
export const MAX_PARTS = 1_000;
const MAX_TEXT = 1_024;

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.slice(0, MAX_TEXT) : null;
}

function params(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value || typeof value !== 'object') return out;
  for (const [key, v] of Object.entries(value as Record<string, unknown>).slice(0, 32)) {
    if (typeof v === 'string') out[key.toLowerCase().slice(0, 64)] = v.slice(0, MAX_TEXT);
  }
  return out;
}

function leaf(node: MessageStructureObject, part: string): BodyPart {
  const parameters = params(node.parameters);
  const disposition = params(node.dispositionParameters);
  return {
    part,
    contentType: (text(node.type) ?? 'application/octet-stream').toLowerCase(),
    parameters,
    encoding: text(node.encoding)?.toLowerCase() ?? null,
    size: typeof node.size === 'number' && Number.isFinite(node.size) && node.size >= 0 ? node.size : 0,
    disposition: text(node.disposition)?.toLowerCase() ?? null,
    filename: text(disposition.filename) ?? text(parameters.name),
    contentId: text(node.id)?.replace(/^<|>$/g, '') ?? null,
  };
}

const isMultipart = (node: MessageStructureObject): boolean => Array.isArray(node.childNodes) && /^multipart\//i.test(String(node.type));

/**
 * Every part that is not multipart, in order, with its IMAP part number. A message/rfc822 part is
 * listed itself (its bytes are the whole encapsulated message), and so are the parts inside it.
 */
export function bodyParts(structure: MessageStructureObject | undefined): BodyPart[] {
  const out: BodyPart[] = [];
  if (!structure || typeof structure !== 'object') return out;
  // Depth-first, in order, without recursion: an explicit stack of [node, number, depth].
  const stack: [MessageStructureObject, number[], number][] = [[structure, [], 0]];
  while (stack.length > 0 && out.length < MAX_PARTS) {
    const [node, path, depth] = stack.pop()!;
    if (!node || typeof node !== 'object' || depth > MAX_DEPTH) continue;
    if (isMultipart(node)) {
      const children = node.childNodes!.slice(0, MAX_PARTS);
      for (let i = children.length - 1; i >= 0; i -= 1) stack.push([children[i]!, [...path, i + 1], depth + 1]);
      continue;
    }
    // A message that is not multipart is part 1.
    const number = path.length === 0 ? [1] : path;
    out.push(leaf(node, number.join('.')));
    const inner = String(node.type).toLowerCase() === 'message/rfc822' && Array.isArray(node.childNodes) ? node.childNodes[0] : undefined;
    if (inner && typeof inner === 'object') {
      // The encapsulated message: multipart, its parts are number.1, number.2…; else its body is number.1.
      if (isMultipart(inner)) stack.push([inner, number, depth + 1]);
      else stack.push([inner, [...number, 1], depth + 1]);
    }
  }
  return out;
}

/** The part with this number, when the structure has it and it is not multipart. */
export function findPart(structure: MessageStructureObject | undefined, part: string): BodyPart | undefined {
  return bodyParts(structure).find((p) => p.part === part);
}
