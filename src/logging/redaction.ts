/**
 * What must never reach a log line. The logger hands every entry and every
 * child logger's bindings to `redactFields`, which replaces the value of each
 * secret-bearing field at any depth (names compared without case, `-` or
 * `_`), and `scrubUrl` strips the values of secret-bearing query parameters
 * (the OAuth callback carries `code` and `state`) from request URLs before
 * they are logged.
 *
 * A walk rather than pino's path-based `redact`: paths reach only the depths
 * listed (four here, 88 paths), and their wildcards cost about 18 µs per
 * child logger and 70 µs per line, more than the rest of a request.
 */

/** Field names that hold secrets wherever they appear. */
export const SECRET_FIELDS = [
  'authorization',
  'proxy-authorization',
  'clientSecret',
  'clientAssertion',
  'secret',
  'secrets',
  'password',
  'pass',
  'accessToken',
  'refreshToken',
  'idToken',
  'token',
  'apiKey',
  'apiKeys',
  'x-api-key',
  'codeVerifier',
  'encryptionKey',
  'cookie',
  'set-cookie',
] as const;

export const REDACTED = '[REDACTED]';

const normalise = (name: string): string => name.replace(/[-_]/g, '').toLowerCase();
const SECRET_NAMES = new Set<string>(SECRET_FIELDS.map(normalise));

/** True for `clientSecret`, `client_secret`, `Authorization`, `X-Api-Key`… */
export function isSecretField(name: string): boolean {
  return SECRET_NAMES.has(normalise(name));
}

const MAX_DEPTH = 10;

/**
 * `value` with the value of every secret-bearing field replaced by
 * [REDACTED], at any depth: the same object when it holds none (nothing is
 * copied on the common path), else a copy in which only the branches that
 * changed are new. Errors are first turned into plain objects by
 * `serializeError`. Values that serialise themselves (`toJSON`: dates,
 * buffers, URLs) and binary data are left as they are; a cycle becomes
 * [Circular], and what lies deeper than ten levels [Truncated].
 */
export function redactFields(value: unknown, serializeError: (err: Error) => unknown = (err) => err, ancestors: object[] = []): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const plain = serializeError(value);
    return plain === value ? value : redactFields(plain, serializeError, ancestors);
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (ancestors.includes(value)) return '[Circular]';
  if (ancestors.length >= MAX_DEPTH) return '[Truncated]';
  ancestors.push(value);
  try {
    return Array.isArray(value) ? redactArray(value, serializeError, ancestors) : redactObject(value as Record<string, unknown>, serializeError, ancestors);
  } finally {
    ancestors.pop();
  }
}

function redactArray(list: unknown[], serializeError: (err: Error) => unknown, ancestors: object[]): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const item = redactFields(list[i], serializeError, ancestors);
    if (item !== list[i]) (copy ??= list.slice())[i] = item;
  }
  return copy ?? list;
}

function redactField(name: string, value: unknown, serializeError: (err: Error) => unknown, ancestors: object[]): unknown {
  return isSecretField(name) && value !== undefined && value !== null ? REDACTED : redactFields(value, serializeError, ancestors);
}

/**
 * An object's fields redacted as `redactFields` does, copy-on-write, except
 * the fields named in `skip`, which are left as they are (a log entry's
 * fields that a serializer reduces to safe ones).
 */
export function redactObject(
  object: Record<string, unknown>,
  serializeError: (err: Error) => unknown,
  ancestors: object[] = [],
  skip?: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    if (skip && key in skip) continue;
    const field = object[key];
    const out = redactField(key, field, serializeError, ancestors);
    if (out !== field) (copy ??= { ...object })[key] = out;
  }
  return copy ?? object;
}

const SECRET_QUERY_PARAMS = new Set(['code', 'state', 'token', 'access_token', 'id_token', 'client_secret', 'session_state']);

/** `/v1/oauth/callback?code=abc&state=x` → `/v1/oauth/callback?code=[REDACTED]&state=[REDACTED]`. */
export function scrubUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of [...params.keys()]) {
    if (SECRET_QUERY_PARAMS.has(key.toLowerCase())) {
      params.set(key, '[REDACTED]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

/** JWTs (access and ID tokens) and XOAUTH2 strings that may sit inside an error message. */
// eslint-disable-next-line no-control-regex -- XOAUTH2 separates its fields with \x01
const TOKEN_PATTERNS = [/eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g, /auth=Bearer [^\s\x01]+/g];

export function scrubText(text: string): string {
  return TOKEN_PATTERNS.reduce((out, pattern) => out.replace(pattern, '[REDACTED]'), text);
}
