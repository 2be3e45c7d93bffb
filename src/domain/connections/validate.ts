/**
 * The setup guide's rules for an app registration, and the classic paste
 * mistakes caught with a hint: pure functions, no I/O.
 */
import { readReturnToRule, returnToRuleText } from '../../config/login-config.js';
import { ValidationError, type FieldProblem } from '../../errors/errors.js';
import { ONE_CREDENTIAL_HINT, readCredential, type CredentialContext, type CredentialInput, type ReadCredential } from './credential-input.js';
import type { CreateConnectionInput } from './model.js';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

interface Problem extends FieldProblem {
  hint?: string;
}

function pasteProblem(field: string, value: string, what: string): Problem | undefined {
  if (value !== value.trim()) {
    return { field, message: `${what} has leading or trailing whitespace`, hint: `Copy ${what} again without spaces or line breaks.` };
  }
  if (/^["'`].*["'`]$/.test(value)) {
    return { field, message: `${what} is wrapped in quotes`, hint: `Paste ${what} without the surrounding quotes.` };
  }
  return undefined;
}

export function checkClientId(value: string): Problem | undefined {
  const paste = pasteProblem('/clientId', value, 'the Application (client) ID');
  if (paste) return paste;
  if (!GUID.test(value)) {
    return {
      field: '/clientId',
      message: 'must be a GUID such as 00000000-0000-0000-0000-000000000000',
      hint: "Copy the Application (client) ID from the app registration's Overview (Essentials section).",
    };
  }
  return undefined;
}

export function checkTenantId(value: string): Problem | undefined {
  const paste = pasteProblem('/tenantId', value, 'the Directory (tenant) ID');
  if (paste) return paste;
  if (value === 'common' || value === 'organizations' || value === 'consumers') {
    return {
      field: '/tenantId',
      message: `must be a tenant id or domain, not "${value}"`,
      hint: 'Leave tenantId empty for a multi-tenant delegated app; the service picks organizations or common.',
    };
  }
  if (!GUID.test(value) && !DOMAIN.test(value)) {
    return {
      field: '/tenantId',
      message: 'must be a GUID or a verified domain such as contoso.onmicrosoft.com',
      hint: "Copy the Directory (tenant) ID from the app registration's Overview (Essentials section).",
    };
  }
  return undefined;
}

export function checkClientSecret(value: string): Problem | undefined {
  const paste = pasteProblem('/clientSecret', value, 'the client secret');
  if (paste) return paste;
  if (GUID.test(value)) {
    return {
      field: '/clientSecret',
      message: 'looks like a Secret ID (a GUID), not a secret value',
      hint: 'In Certificates & secrets, copy the Value column of the client secret, not its Secret ID.',
    };
  }
  if (value.length < 16) {
    return { field: '/clientSecret', message: 'is too short for an Entra client secret', hint: 'Copy the whole Value of the client secret.' };
  }
  return undefined;
}

export function checkAuthorityHost(value: string): Problem | undefined {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    return {
      field: '/authorityHost',
      message: 'must be an https origin such as https://login.microsoftonline.com',
    };
  }
  return undefined;
}

/** A connection's own sign-in allow-list, checked as LOGIN_RETURN_TO_ALLOWLIST is; normalised, or the problems. */
function readLoginReturnTo(list: readonly string[]): { rules: string[]; problems: Problem[] } {
  const rules = new Set<string>();
  const problems: Problem[] = [];
  list.forEach((raw, i) => {
    const read = readReturnToRule(raw);
    if ('rule' in read) rules.add(returnToRuleText(read.rule));
    else problems.push({ field: `/loginReturnTo/${i}`, message: read.problem, hint: 'List the origins (https://app.example.com) or URL prefixes (https://app.example.com/auth/) your applications receive sign-ins at.' });
  });
  return { rules: [...rules], problems };
}

function fail(problems: Problem[]): never {
  const first = problems[0]!;
  throw new ValidationError(
    `${first.field.slice(1)} ${first.message}.`,
    problems.map(({ field, message }) => ({ field, message })),
    first.hint,
  );
}

const defaultContext = (): CredentialContext => ({ now: new Date(), federatedTokenFile: undefined });

/** Checks a new connection; its one credential, read (a certificate parsed, a secret checked). */
export function validateCreate(input: CreateConnectionInput, context: CredentialContext = defaultContext()): ReadCredential {
  const problems: Problem[] = [];
  const push = (p: Problem | undefined): void => void (p && problems.push(p));
  const tenantId = connectionTenant(input) ?? '';
  push(checkClientId(input.clientId));
  const read = readCredential(input, context, checkClientSecret);
  problems.push(...read.problems);
  if (!read.credential && read.problems.length === 0) {
    problems.push({ field: '/clientSecret', message: 'is required: a connection needs one credential', hint: ONE_CREDENTIAL_HINT });
  }
  if (input.authorityHost !== undefined) push(checkAuthorityHost(input.authorityHost));
  // An app_only connection without tenantId is multi-tenant: each of its mailboxes names its customer's tenant.
  if (tenantId !== '') push(checkTenantId(tenantId));
  if (input.personalAccounts && (input.flow !== 'delegated' || tenantId !== '')) {
    problems.push({ field: '/personalAccounts', message: 'applies only to multi-tenant delegated connections (empty tenantId)' });
  }
  if (input.loginReturnTo) problems.push(...readLoginReturnTo(input.loginReturnTo).problems);
  if (problems.length > 0 || !read.credential) fail(problems);
  return read.credential;
}

/**
 * The tenant a new connection keeps: null for a multi-tenant app (no tenantId; for app_only also
 * `organizations`, the name the portal's "Accounts in any organizational directory" suggests).
 */
export function connectionTenant(input: Pick<CreateConnectionInput, 'flow' | 'tenantId'>): string | null {
  const tenantId = input.tenantId ?? '';
  if (tenantId === '' || (input.flow === 'app_only' && tenantId.toLowerCase() === 'organizations')) return null;
  return tenantId;
}

/** `loginReturnTo` as stored: its rules normalised (`https://App.example.com/` → `https://app.example.com`); null: none of its own. */
export function normaliseLoginReturnTo(list: readonly string[] | null): string[] | null {
  if (list === null) return null;
  const { rules, problems } = readLoginReturnTo(list);
  if (problems.length > 0) fail(problems);
  return rules;
}

/** A rotation's credential, read; undefined: the patch gives none. */
export function validateCredential(input: CredentialInput, context: CredentialContext): ReadCredential | undefined {
  const read = readCredential(input, context, checkClientSecret);
  if (read.problems.length > 0) fail(read.problems);
  return read.credential;
}

export function normaliseAuthorityHost(value: string | undefined): string {
  return value === undefined ? DEFAULT_AUTHORITY_HOST : new URL(value).origin;
}

/** The authority URL MSAL uses: a tenant for single-tenant apps, else organizations (or common). */
export function authorityOf(c: { authorityHost: string; tenantId: string | null; personalAccounts?: boolean }): string {
  const tenant = c.tenantId ?? (c.personalAccounts ? 'common' : 'organizations');
  return `${c.authorityHost}/${tenant}`;
}
