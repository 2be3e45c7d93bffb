/**
 * What the light IMAP imitation says about one stored message: its header fields, ENVELOPE,
 * BODYSTRUCTURE (a single part, or one level of multipart), INTERNALDATE and sections of its
 * source, each as IMAP wire text. Pure functions of the raw bytes.
 */

/** An IMAP string: quoted when plain ASCII without CR/LF, else a literal. */
export function imapString(value: string | Buffer | null | undefined): string {
  if (value === null || value === undefined) return 'NIL';
  const text = typeof value === 'string' ? value : value.toString('latin1');
  if (/^[\x20-\x7e]*$/.test(text)) return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return `{${bytes.length}}\r\n${bytes.toString('latin1')}`;
}

/** The header block (without the blank line) and the body of a raw message. */
export function split(raw: Buffer): { header: Buffer; body: Buffer } {
  const crlf = raw.indexOf('\r\n\r\n');
  if (crlf !== -1) return { header: raw.subarray(0, crlf + 2), body: raw.subarray(crlf + 4) };
  const lf = raw.indexOf('\n\n');
  if (lf !== -1) return { header: raw.subarray(0, lf + 1), body: raw.subarray(lf + 2) };
  return { header: raw, body: Buffer.alloc(0) };
}

/** Header lines, unfolded, as [lower-case name, value, original text with its CRLF]. */
export function headerLines(header: Buffer): { name: string; value: string; text: string }[] {
  const out: { name: string; value: string; text: string }[] = [];
  for (const text of header.toString('latin1').split(/\r?\n(?![ \t])/)) {
    const colon = text.indexOf(':');
    if (colon <= 0) continue;
    out.push({ name: text.slice(0, colon).trim().toLowerCase(), value: text.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim(), text: `${text.replace(/\r?\n/g, '\r\n')}\r\n` });
  }
  return out;
}

function field(lines: ReturnType<typeof headerLines>, name: string): string | undefined {
  return lines.find((l) => l.name === name)?.value;
}

/** `BODY[HEADER.FIELDS (A B)]`'s content: those header lines, then a blank line. */
export function headerFields(raw: Buffer, names: readonly string[], not = false): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const lines = headerLines(split(raw).header).filter((l) => wanted.has(l.name) !== not);
  return Buffer.from(`${lines.map((l) => l.text).join('')}\r\n`, 'latin1');
}

/** An address list as IMAP's ((name adl mailbox host) …), NIL when empty. Simple: `Name <a@b>, c@d`. */
function addresses(value: string | undefined): string {
  if (!value) return 'NIL';
  const parts = value.match(/(?:"[^"]*"|<[^>]*>|[^,])+/g) ?? [];
  const out: string[] = [];
  for (const part of parts.slice(0, 100)) {
    const angle = /^(.*)<([^>]*)>\s*$/.exec(part.trim());
    const address = (angle ? angle[2]! : part).trim();
    const name = angle ? angle[1]!.trim().replace(/^"(.*)"$/, '$1') : '';
    const at = address.lastIndexOf('@');
    if (!address) continue;
    out.push(`(${name ? imapString(name) : 'NIL'} NIL ${imapString(at === -1 ? address : address.slice(0, at))} ${at === -1 ? 'NIL' : imapString(address.slice(at + 1))})`);
  }
  return out.length === 0 ? 'NIL' : `(${out.join('')})`;
}

export function envelope(raw: Buffer): string {
  const lines = headerLines(split(raw).header);
  const from = field(lines, 'from');
  const str = (name: string) => imapString(field(lines, name));
  return `(${str('date')} ${str('subject')} ${addresses(from)} ${addresses(field(lines, 'sender') ?? from)} ${addresses(field(lines, 'reply-to') ?? from)} ` +
    `${addresses(field(lines, 'to'))} ${addresses(field(lines, 'cc'))} ${addresses(field(lines, 'bcc'))} ${str('in-reply-to')} ${str('message-id')})`;
}

/** type, subtype and parameters of a Content-Type value (text/plain us-ascii by default). */
function contentType(value: string | undefined): { type: string; subtype: string; params: [string, string][] } {
  const [mime = 'text/plain', ...rest] = (value ?? 'text/plain; charset=us-ascii').split(';');
  const [type = 'text', subtype = 'plain'] = mime.trim().toLowerCase().split('/');
  const params = rest.map((p) => p.trim()).filter(Boolean).map((p) => {
    const eq = p.indexOf('=');
    return [eq === -1 ? p : p.slice(0, eq).trim().toLowerCase(), eq === -1 ? '' : p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')] as [string, string];
  });
  return { type, subtype, params };
}

const paramList = (params: [string, string][]) => (params.length === 0 ? 'NIL' : `(${params.map(([k, v]) => `${imapString(k)} ${imapString(v)}`).join(' ')})`);

function singlePart(header: Buffer, body: Buffer): string {
  const lines = headerLines(header);
  const ct = contentType(field(lines, 'content-type'));
  const encoding = field(lines, 'content-transfer-encoding') ?? '7bit';
  const base = `${imapString(ct.type)} ${imapString(ct.subtype)} ${paramList(ct.params)} ${imapString(field(lines, 'content-id'))} ` +
    `${imapString(field(lines, 'content-description'))} ${imapString(encoding)} ${body.length}`;
  const textLines = ct.type === 'text' ? ` ${body.toString('latin1').split('\n').length}` : '';
  const disposition = field(lines, 'content-disposition');
  const dispo = disposition ? (() => { const d = contentType(`${disposition.split(';')[0]}/x;${disposition.split(';').slice(1).join(';')}`); return `(${imapString(d.type)} ${paramList(d.params)})`; })() : 'NIL';
  return `(${base}${textLines} NIL ${dispo} NIL NIL)`;
}

/** BODYSTRUCTURE: one part, or a multipart whose parts are single parts (one level). */
export function bodyStructure(raw: Buffer): string {
  const { header, body } = split(raw);
  const ct = contentType(field(headerLines(header), 'content-type'));
  const boundary = ct.params.find(([k]) => k === 'boundary')?.[1];
  if (ct.type !== 'multipart' || !boundary) return singlePart(header, body);
  const parts = body.toString('latin1').split(`--${boundary}`).slice(1).filter((p) => !p.startsWith('--')).slice(0, 100);
  const inner = parts.map((p) => {
    const part = Buffer.from(p.replace(/^\r?\n/, '').replace(/\r?\n$/, ''), 'latin1');
    const s = split(part);
    return singlePart(s.header, s.body);
  });
  return `(${inner.join('')} ${imapString(ct.subtype)} ${paramList(ct.params)} NIL NIL NIL)`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** INTERNALDATE as IMAP's date-time, in UTC: "07-Dec-2026 00:35:50 +0000". */
export function internalDate(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `"${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000"`;
}

/** A SEARCH date (`7-Dec-2026`) as the UTC midnight it starts, or undefined. */
export function searchDate(text: string): number | undefined {
  const match = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  const month = match ? MONTHS.findIndex((m) => m.toLowerCase() === match[2]!.toLowerCase()) : -1;
  return match && month >= 0 ? Date.UTC(Number(match[3]), month, Number(match[1])) : undefined;
}
