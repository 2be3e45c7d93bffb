/**
 * FETCH items as the light IMAP imitation answers them: UID, FLAGS, INTERNALDATE, RFC822.SIZE,
 * ENVELOPE, BODYSTRUCTURE, BODY[…]/BODY.PEEK[…] (whole, HEADER, TEXT, HEADER.FIELDS[.NOT], a part
 * number, with `<origin.length>`) and the macros ALL, FAST, FULL. MODSEQ and the rest are a typed
 * error answered with BAD: Exchange has no CONDSTORE.
 */
import type { Arg } from './parser.js';
import { ImapArgumentError } from './search.js';
import { bodyStructure, envelope, headerFields, imapString, internalDate, split } from './message.js';
import { FLAG_BITS, type StoredMessage } from './store.js';

export type FetchItem =
  | { kind: 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' }
  | { kind: 'section'; label: string; section: string; fields: string[]; peek: boolean; partial: [number, number] | undefined };

const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE'],
};
const SIMPLE = new Set(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE']);
const SECTION = /^(BODY(?:\.PEEK)?)\[([^\]]*)\](?:<(\d+)\.(\d+)>)?$/i;

/** The items a FETCH asks for; `uid` adds UID (a UID FETCH always answers it). */
export function fetchItems(arg: Arg | undefined, uid: boolean): FetchItem[] {
  if (arg === undefined) throw new ImapArgumentError('no fetch items');
  const names = arg.kind === 'list' ? arg.items : [arg];
  const out: FetchItem[] = [];
  const add = (item: FetchItem) => {
    if (!out.some((o) => o.kind === item.kind && (o.kind !== 'section' || (item.kind === 'section' && o.label === item.label)))) out.push(item);
  };
  if (uid) add({ kind: 'UID' });
  for (const name of names) {
    if (name.kind !== 'atom') throw new ImapArgumentError('bad fetch item');
    const upper = name.value.toUpperCase();
    if (arg.kind === 'atom' && upper in MACROS) {
      for (const m of MACROS[upper]!) add({ kind: m as 'FLAGS' });
      continue;
    }
    if (SIMPLE.has(upper)) {
      add({ kind: upper as 'FLAGS' });
      continue;
    }
    if (upper === 'BODY') {
      add({ kind: 'BODYSTRUCTURE' });
      continue;
    }
    if (upper === 'RFC822' || upper === 'RFC822.HEADER' || upper === 'RFC822.TEXT') {
      const section = upper === 'RFC822' ? '' : upper.slice(7);
      add({ kind: 'section', label: upper, section, fields: [], peek: upper === 'RFC822.HEADER', partial: undefined });
      continue;
    }
    const match = SECTION.exec(name.value);
    if (!match) throw new ImapArgumentError(`unsupported fetch item ${name.value.slice(0, 40)}`);
    const inner = match[2]!.trim();
    const fieldMatch = /^(HEADER\.FIELDS(?:\.NOT)?)\s*\(([^)]*)\)$/i.exec(inner);
    const section = fieldMatch ? fieldMatch[1]!.toUpperCase() : inner.toUpperCase();
    if (!fieldMatch && !/^(|HEADER|TEXT|\d+(\.\d+)*(\.(MIME|HEADER|TEXT))?)$/.test(section)) throw new ImapArgumentError('bad section');
    const partial = match[3] === undefined ? undefined : [Number(match[3]), Number(match[4])] as [number, number];
    add({
      kind: 'section',
      label: `BODY[${inner}]${partial ? `<${partial[0]}>` : ''}`,
      section,
      fields: fieldMatch ? fieldMatch[2]!.trim().split(/\s+/).filter(Boolean).map((f) => f.replace(/^"(.*)"$/, '$1')) : [],
      peek: match[1]!.toUpperCase() === 'BODY.PEEK',
      partial,
    });
  }
  return out;
}

/** Whether answering these items sets \Seen (a non-PEEK body section) on a read-write folder. */
export function setsSeen(items: readonly FetchItem[]): boolean {
  return items.some((i) => i.kind === 'section' && !i.peek);
}

export function flagList(flags: number): string {
  return `(${Object.entries(FLAG_BITS).filter(([, bit]) => (flags & bit) !== 0).map(([name]) => name).join(' ')})`;
}

function sectionBytes(raw: Buffer, item: Extract<FetchItem, { kind: 'section' }>): Buffer {
  const { header, body } = split(raw);
  switch (item.section) {
    case '': return raw;
    case 'HEADER': return Buffer.concat([header, Buffer.from('\r\n')]);
    case 'TEXT': return body;
    case 'HEADER.FIELDS': return headerFields(raw, item.fields);
    case 'HEADER.FIELDS.NOT': return headerFields(raw, item.fields, true);
    default: return partOf(raw, item.section);
  }
}

/** Part `n` (or `n.MIME`) of a message: its body, or its header; part 1 of a single-part message is its body. */
function partOf(raw: Buffer, section: string): Buffer {
  const [numberText = '', suffix] = section.split(/\.(?=MIME|HEADER|TEXT)/);
  const index = Number(numberText.split('.')[0]);
  const { header, body } = split(raw);
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(header.toString('latin1'))?.[1];
  if (!boundary) return index === 1 && !suffix ? body : Buffer.alloc(0);
  const part = body.toString('latin1').split(`--${boundary}`).slice(1).filter((p) => !p.startsWith('--'))[index - 1];
  if (part === undefined) return Buffer.alloc(0);
  const own = split(Buffer.from(part.replace(/^\r?\n/, '').replace(/\r?\n$/, ''), 'latin1'));
  return suffix === 'MIME' || suffix === 'HEADER' ? Buffer.concat([own.header, Buffer.from('\r\n')]) : own.body;
}

/** One message's `* n FETCH (…)` line. */
export function fetchResponse(message: StoredMessage, seq: number, items: readonly FetchItem[]): string {
  const parts: string[] = [];
  for (const item of items) {
    switch (item.kind) {
      case 'UID': parts.push(`UID ${message.uid}`); break;
      case 'FLAGS': parts.push(`FLAGS ${flagList(message.flags)}`); break;
      case 'INTERNALDATE': parts.push(`INTERNALDATE ${internalDate(message.internalDate)}`); break;
      case 'RFC822.SIZE': parts.push(`RFC822.SIZE ${message.raw.length}`); break;
      case 'ENVELOPE': parts.push(`ENVELOPE ${envelope(message.raw)}`); break;
      case 'BODYSTRUCTURE': parts.push(`BODYSTRUCTURE ${bodyStructure(message.raw)}`); break;
      case 'section': {
        let bytes = sectionBytes(message.raw, item);
        if (item.partial) bytes = bytes.subarray(item.partial[0], item.partial[0] + item.partial[1]);
        parts.push(`${item.label} {${bytes.length}}\r\n${bytes.toString('latin1')}`);
        break;
      }
    }
  }
  return `* ${seq} FETCH (${parts.join(' ')})\r\n`;
}

export { imapString };
