/**
 * What the browser pages (the OAuth callback, the sign-in start) say about a
 * failure: one fixed sentence per error code, written here. Never the
 * error's `detail`: on these pages it may hold Microsoft's error_description
 * from the query string, which anyone can write into a link (up to 4 KB of
 * text shown on this service's own origin), or the token endpoint's own
 * words. The only values a sentence takes are an AADSTS number (digits the
 * service parsed) and, for `wrong_account`, the account names of a verified
 * ID token and the mailbox's address. The detail goes to the log instead
 * (routes/oauth-public.ts), for support.
 */
import type { Classification } from '../../errors/classify.js';
import type { ErrorCode } from '../../errors/codes.js';

type Fields = Record<string, unknown>;
type Sentence = string | ((fields: Fields) => string);

const NAME_MAX = 254;
const nameIn = (fields: Fields, key: string): string | undefined => {
  const value = fields[key];
  return typeof value === 'string' && value.length <= NAME_MAX ? value : undefined;
};

function wrongAccount(fields: Fields): string {
  const signedInAs = nameIn(fields, 'signedInAs') ?? 'another account';
  const expected = nameIn(fields, 'expected') ?? 'another address';
  if (fields.reason === 'another_person') {
    return `You signed in as ${signedInAs}, but that is not the account this mailbox was first connected with (another person, or an account made again under the same name). Nothing was changed.`;
  }
  return `You signed in as ${signedInAs}, but this mailbox is ${expected}. Nothing was changed.`;
}

const SERVICE_FAILED = 'The service failed to handle this request. It has been logged.';

/** Sentences without a final period take " (AADSTSnnnn)." when the error carries an AADSTS code. */
const SENTENCES: Partial<Record<ErrorCode, Sentence>> = {
  validation_failed: 'The address of this page is incomplete, malformed or too long.',
  rate_limited: 'Too many requests: this service is limiting sign-ins right now.',
  not_found: 'The connection or mailbox this sign-in is for does not exist.',
  conflict: 'This sign-in does not fit the mailbox as it is now. Nothing was changed.',
  dependency_unavailable: 'The service cannot reach its storage right now.',
  host_not_allowed: "The connection's identity platform is not on this service's list of allowed hosts, so no sign-in goes there.",
  config_invalid: SERVICE_FAILED,
  internal: SERVICE_FAILED,
  decryption_failed: 'The service cannot decrypt what it stored for this connection; an operator must fix its encryption keys.',
  invalid_client_secret: "Microsoft refused the app's client secret",
  client_secret_expired: "The app's client secret has expired",
  application_not_found: 'Microsoft knows no application with this client id in the tenant',
  tenant_not_found: "Microsoft knows no tenant by the connection's tenant id",
  tenant_required: 'Microsoft needs a tenant id for this request',
  consent_required: 'The app lacks consent for the permissions it asks for',
  service_principal_missing: 'The app has not been consented to in this tenant',
  invalid_scope: 'Microsoft refused the permissions the service asked for',
  redirect_uri_mismatch: "This service's callback URL is not a redirect URI of the app registration",
  refresh_token_expired: 'The sign-in took too long or has expired',
  grant_revoked: 'The sign-in was revoked',
  user_not_in_tenant: "The account that signed in is not in the app's tenant",
  malformed_token_request: 'Microsoft refused the token request as malformed',
  missing_permission: 'The sign-in lacks a permission the service needs',
  identity_platform_unreachable: 'The service cannot reach Microsoft right now.',
  identity_platform_tls_error: "The service does not trust the TLS certificate of Microsoft's sign-in server.",
  identity_platform_timeout: 'Microsoft did not answer in time.',
  identity_platform_bad_response: 'Microsoft answered something the service cannot read.',
  identity_platform_error: 'Microsoft refused the sign-in',
  not_authorized: 'The mailbox has no sign-in yet.',
  wrong_account: wrongAccount,
  oauth_state_invalid: 'This sign-in link has expired (links last 10 minutes), was already used, or was not issued by this service.',
  oauth_denied: 'The user declined consent, so no sign-in took place',
  sign_in_disabled: 'Signing in with Microsoft is not enabled on this service.',
  return_to_not_allowed: 'The application asked to get the sign-in back at an address this service may not send it to.',
  id_token_invalid: "Microsoft's answer could not be verified (its ID token failed a check), so nobody was signed in.",
  sign_in_not_bound: 'This sign-in was started in another browser (or this browser does not keep its cookies), so it cannot be finished here.',
  admin_consent_declined: 'The administrator declined to grant the app its permissions, so nothing was consented',
  admin_consent_required: 'The account that signed in cannot grant consent for the whole organisation: an administrator must open the link',
};

function aadstsOf(fields: Fields): number | undefined {
  const code = fields.aadstsCode;
  return typeof code === 'number' && Number.isSafeInteger(code) && code > 0 ? code : undefined;
}

/** The page's sentence for a classified error: fixed per code (its title for a code without one). */
export function pageSentence(c: Pick<Classification, 'code' | 'title' | 'fields'>): string {
  const sentence = SENTENCES[c.code] ?? `${c.title}.`;
  const text = typeof sentence === 'string' ? sentence : sentence(c.fields);
  if (text.endsWith('.')) return text;
  const aadsts = aadstsOf(c.fields);
  return aadsts === undefined ? `${text}.` : `${text} (AADSTS${aadsts}).`;
}
