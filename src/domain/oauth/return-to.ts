/**
 * Whether a sign-in may send the browser (and its login code) back to a
 * `returnTo` address: only to an origin or URL prefix named in
 * LOGIN_RETURN_TO_ALLOWLIST, compared after URL parsing (so `..`, `%2e%2e`,
 * a different port or scheme, `user@host` tricks and look-alike prefixes
 * such as `/auth` versus `/authority` do not pass). Pure: no I/O.
 */
import type { ReturnToRule } from '../../config/login-config.js';

export const MAX_RETURN_TO_LENGTH = 2048;

function underPrefix(pathname: string, prefix: string): boolean {
  if (prefix.endsWith('/')) return pathname.startsWith(prefix);
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/** The normalised URL when `returnTo` is allowed, else undefined. */
export function allowedReturnTo(rules: readonly ReturnToRule[], returnTo: string): URL | undefined {
  if (returnTo.length > MAX_RETURN_TO_LENGTH) return undefined;
  let url: URL;
  try {
    url = new URL(returnTo);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password) return undefined;
  const match = rules.some((rule) => rule.origin === url.origin && underPrefix(url.pathname, rule.pathPrefix));
  return match ? url : undefined;
}

/** `returnTo` with the login code added (replacing any `code` it carried). */
export function withLoginCode(returnTo: string, code: string): string {
  const url = new URL(returnTo);
  url.searchParams.set('code', code);
  return url.toString();
}
