/**
 * The Microsoft sign-in provider's settings (GET /v1/connections/{id}/login):
 * where a browser may be sent back to with its one-time login code.
 *
 * LOGIN_RETURN_TO_ALLOWLIST is a comma-separated list of origins
 * (`https://app.example.com`: any path there) or URL prefixes
 * (`https://app.example.com/auth/`: that path and below). Empty or unset:
 * the sign-in provider is disabled. No wildcards: every origin is named.
 * Plain http is accepted for loopback hosts only (development), because the
 * login code travels in the URL.
 */
import { EnvValueError, parseList } from './env-spec.js';

export interface ReturnToRule {
  /** `https://app.example.com` (scheme, host and non-default port, lowercase). */
  origin: string;
  /** `/` for an origin; otherwise the path prefix a returnTo must equal or sit below. */
  pathPrefix: string;
}

export interface LoginConfig {
  /** Empty: the sign-in provider is disabled. @defaultValue [] */
  returnToAllowlist: readonly ReturnToRule[];
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

/**
 * One allow-list entry as a rule, or why it is refused: the syntax of LOGIN_RETURN_TO_ALLOWLIST and of
 * a connection's own `loginReturnTo` (domain/connections/validate.ts).
 */
export function readReturnToRule(raw: string): { rule: ReturnToRule } | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'is not an absolute URL (e.g. https://app.example.com or https://app.example.com/auth/)' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { problem: 'only https (or http on a loopback host) origins are allowed' };
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return { problem: 'plain http is allowed for localhost only; the login code travels in the URL' };
  }
  if (url.username || url.password || url.search || url.hash || raw.includes('*')) {
    return { problem: 'give an origin or a URL prefix, without credentials, query, fragment or wildcards' };
  }
  return { rule: { origin: url.origin, pathPrefix: url.pathname === '' ? '/' : url.pathname } };
}

/** A rule written back in the list's syntax: the origin, or the origin and path prefix. */
export function returnToRuleText(rule: ReturnToRule): string {
  return rule.pathPrefix === '/' ? rule.origin : `${rule.origin}${rule.pathPrefix}`;
}

function parseRule(raw: string): ReturnToRule {
  const read = readReturnToRule(raw);
  if ('problem' in read) {
    throw new EnvValueError(read.problem.startsWith('is ') ? `has "${raw}", which ${read.problem}` : `has "${raw}": ${read.problem}`);
  }
  return read.rule;
}

export function parseReturnToAllowlist(raw: string): ReturnToRule[] {
  return parseList(raw).map(parseRule);
}

type Read = <T>(name: string, parse: (raw: string) => T, fallback: T) => T;

export function loadLoginConfig(read: Read): LoginConfig {
  return { returnToAllowlist: read('LOGIN_RETURN_TO_ALLOWLIST', parseReturnToAllowlist, []) };
}
