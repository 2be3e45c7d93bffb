/**
 * Parsers for environment variables. Each parser turns the raw string into a
 * typed value or throws a message saying what is expected; `loadConfig`
 * prefixes the variable's name. Pure functions, no I/O.
 */

export class EnvValueError extends Error {}

export function parseString(raw: string): string {
  const value = raw.trim();
  if (value === '') throw new EnvValueError('must not be empty');
  return value;
}

export function parseInteger(min: number, max: number) {
  return (raw: string): number => {
    const value = raw.trim();
    if (!/^-?\d+$/.test(value)) throw new EnvValueError(`must be a whole number from ${min} to ${max}`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new EnvValueError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

export function parseBoolean(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  throw new EnvValueError('must be true or false');
}

export function parseEnum<T extends string>(allowed: readonly T[]) {
  return (raw: string): T => {
    const value = raw.trim() as T;
    if (!allowed.includes(value)) throw new EnvValueError(`must be one of ${allowed.join(', ')}`);
    return value;
  };
}

export function parseUrl(protocols: readonly string[]) {
  return (raw: string): URL => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new EnvValueError(`must be a URL (${protocols.join(' or ')})`);
    }
    if (!protocols.includes(url.protocol.slice(0, -1))) {
      throw new EnvValueError(`must be a URL with scheme ${protocols.join(' or ')}`);
    }
    return url;
  };
}

/** An absolute file path (AZURE_FEDERATED_TOKEN_FILE); the file itself is read later, when it is needed. */
export function parseAbsolutePath(raw: string): string {
  const value = raw.trim();
  if (!value.startsWith('/') || value.includes('\0')) throw new EnvValueError('must be an absolute file path');
  return value;
}

export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A 32-byte key, base64 (standard or URL-safe alphabet). */
export function parseKey32(raw: string): Buffer {
  const value = raw.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    throw new EnvValueError('must be 32 random bytes in base64 (openssl rand -base64 32)');
  }
  const key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) {
    throw new EnvValueError(`must be 32 bytes in base64, got ${key.length} bytes (openssl rand -base64 32)`);
  }
  return key;
}
