/**
 * What must never reach a log line. pino's `redact` removes these paths
 * (each field name at the top level and up to three levels down), and
 * `scrubUrl` strips the values of secret-bearing query parameters (the OAuth
 * callback carries `code` and `state`) from request URLs before they are logged.
 */

/** Field names that hold secrets wherever they appear. */
export const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  'clientSecret',
  'client_secret',
  'secret',
  'secrets',
  'password',
  'pass',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'token',
  'apiKey',
  'apiKeys',
  'code_verifier',
  'codeVerifier',
  'encryptionKey',
  'cookie',
  'set-cookie',
] as const;

const DEPTHS = ['', '*.', '*.*.', '*.*.*.'];

export const REDACT_PATHS: string[] = DEPTHS.flatMap((prefix) =>
  SECRET_FIELDS.map((field) => (/^[A-Za-z_]\w*$/.test(field) ? `${prefix}${field}` : `${prefix}["${field}"]`)),
);

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
