/**
 * Scope strings as the v2 endpoint reads them: OIDC scopes (openid, profile,
 * email, offline_access) plus permissions of one resource, written
 * `<resource uri>/<permission>` (e.g. https://outlook.office.com/SMTP.Send).
 */
import { EXCHANGE_AUDIENCE } from '../tokens.js';
import type { App } from './directory.js';

export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
/** The only scope client credentials accept here (microsoft-facts.md: "exactly"). */
export const APP_ONLY_SCOPE = `${EXCHANGE_AUDIENCE}/.default`;

export function parseScopes(raw: string | null | undefined): string[] {
  return [...new Set((raw ?? '').split(/\s+/).filter(Boolean))];
}

interface Permission {
  resource: string;
  permission: string;
}

function splitPermission(scope: string): Permission | undefined {
  const match = /^((?:https?|api):\/\/[^/\s]+)\/([^/\s]+)$/i.exec(scope);
  if (!match?.[1] || !match[2]) return undefined;
  return { resource: match[1].toLowerCase(), permission: match[2] };
}

export type ScopeCheck =
  | { ok: true; oidc: string[]; resourceScopes: string[] }
  | { ok: false; aadsts: 70011 | 28000; scope: string };

/** Validates a delegated request: known OIDC scopes and permissions of at most one resource. */
export function checkDelegatedScopes(scopes: string[]): ScopeCheck {
  const oidc: string[] = [];
  const resourceScopes: string[] = [];
  const resources = new Set<string>();
  for (const scope of scopes) {
    if (OIDC_SCOPES.has(scope.toLowerCase())) {
      oidc.push(scope.toLowerCase());
      continue;
    }
    const parsed = splitPermission(scope);
    if (!parsed) return { ok: false, aadsts: 70011, scope };
    resources.add(parsed.resource);
    resourceScopes.push(scope);
  }
  if (resources.size > 1) return { ok: false, aadsts: 28000, scope: scopes.join(' ') };
  if (resourceScopes.some((s) => s.endsWith('/.default')) && resourceScopes.length > 1) {
    return { ok: false, aadsts: 70011, scope: scopes.join(' ') };
  }
  return { ok: true, oidc, resourceScopes };
}

/** Requested resource scopes the app holds (`/.default` means all it holds for that resource). */
export function grantDelegated(app: App, resourceScopes: string[]): string[] {
  const held = new Map(app.delegatedScopes.map((s) => [s.toLowerCase(), s]));
  const granted: string[] = [];
  for (const scope of resourceScopes) {
    if (scope.endsWith('/.default')) {
      const resource = scope.slice(0, -'/.default'.length).toLowerCase();
      granted.push(...app.delegatedScopes.filter((s) => splitPermission(s)?.resource === resource));
    } else {
      const match = held.get(scope.toLowerCase());
      if (match) granted.push(match);
    }
  }
  return [...new Set(granted)];
}

/** The `scp` claim: permission names without the resource, space-separated in the token. */
export function scpOf(scopes: string[]): string[] {
  return scopes.map((s) => splitPermission(s)?.permission ?? s);
}

export function isAppOnlyScopeValid(scope: string | null): boolean {
  return parseScopes(scope).length === 1 && parseScopes(scope)[0]?.toLowerCase() === APP_ONLY_SCOPE;
}
