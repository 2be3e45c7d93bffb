/**
 * `Content-Disposition: attachment` for a file whose name a sender chose
 * (RFC 6266): `filename*=UTF-8''…` carries the name exactly (RFC 8187
 * percent-encoding), and `filename="…"` an ASCII stand-in for the clients
 * that ignore `filename*`.
 *
 * Whatever the sender wrote, neither can break out of the header or name a
 * path: control characters (CR and LF among them) and path separators
 * become `_`, and the ASCII stand-in drops quotes, backslashes and any
 * character outside printable ASCII.
 */

const MAX_NAME = 200;

/** Characters RFC 8187's attr-char allows unencoded. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

/** C0 and C1 controls (CR, LF, NUL…), DEL, line and paragraph separators, and path separators. */
function isUnsafe(c: string): boolean {
  const code = c.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || c === '/' || c === '\\';
}

/** The name without control characters, path separators or leading dots, cut to MAX_NAME code points. */
function cleaned(name: string): string {
  const safe = [...name.normalize('NFC')]
    .map((c) => (isUnsafe(c) ? '_' : c))
    .slice(0, MAX_NAME)
    .join('')
    .trim()
    .replace(/^\.+/, '');
  return safe;
}

function percentEncoded(name: string): string {
  let out = '';
  for (const c of name) {
    if (ATTR_CHAR.test(c)) out += c;
    else for (const byte of Buffer.from(c, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function asciiFallback(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
}

/** The header value for downloading `filename` (or `fallback` when it has none, or nothing left once cleaned). */
export function attachmentDisposition(filename: string | null | undefined, fallback: string): string {
  const name = cleaned(filename ?? '') || fallback;
  return `attachment; filename="${asciiFallback(name)}"; filename*=UTF-8''${percentEncoded(name)}`;
}
