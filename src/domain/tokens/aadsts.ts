/**
 * What each AADSTS code from the token endpoint means for the user: a stable
 * error code, the setup step that fixes it, and a hint in the setup guide's
 * words. Codes not listed fall back to `identity_platform_error`.
 */
import type { ErrorCode } from '../../errors/codes.js';
import { AppError } from '../../errors/errors.js';
import type { SetupStep } from '../setup/steps.js';

export interface AadstsMeaning {
  code: ErrorCode;
  step: SetupStep;
  hint: string;
}

const RENEW = 'The mailbox user must sign in again: use Renew OAuth connection (POST /v1/mailboxes/{id}/authorize).';

const TABLE: Record<number, AadstsMeaning> = {
  7000215: {
    code: 'invalid_client_secret',
    step: 'client_secret',
    hint: "The client secret is wrong. In Certificates & secrets, copy the secret's Value (not its Secret ID) and update the connection.",
  },
  7000222: {
    code: 'client_secret_expired',
    step: 'client_secret',
    hint: 'The client secret has expired. Create a new client secret and update the connection with its Value (PATCH /v1/connections/{id}).',
  },
  700027: {
    code: 'client_assertion_invalid',
    step: 'client_secret',
    hint: "The certificate that signed the client assertion is not registered on the app: upload it (the public .cer/.pem, no key) under Certificates & secrets → Certificates, or compare the connection's credential.thumbprint with the Thumbprint listed there.",
  },
  7000274: {
    code: 'client_assertion_invalid',
    step: 'client_secret',
    hint: "The client assertion's signature did not verify with the registered certificate: give the connection the private key of the certificate uploaded to the app (PATCH /v1/connections/{id} with certificate.pem).",
  },
  700023: {
    code: 'client_assertion_invalid',
    step: 'tenant_and_client_id',
    hint: "The client assertion's audience is not this tenant's token endpoint: check the connection's tenantId and authorityHost (national clouds have their own host).",
  },
  700021: {
    code: 'client_assertion_invalid',
    step: 'tenant_and_client_id',
    hint: "The client assertion names another application than client_id: check the connection's clientId; a federated token must be exchanged by the app whose federated credential trusts it.",
  },
  50027: {
    code: 'client_assertion_invalid',
    step: 'client_secret',
    hint: 'The client assertion is not a valid JWT: for a federated credential, check that the token file holds the projected service account token.',
  },
  700024: {
    code: 'client_assertion_expired',
    step: 'client_secret',
    hint: "The client assertion is not within its valid time range: check the clock of the service's host (NTP); for a federated credential, check that the platform renews the token file.",
  },
  70021: {
    code: 'federated_credential_mismatch',
    step: 'client_secret',
    hint: "No federated credential of the app matches the token: in Certificates & secrets → Federated credentials, the issuer, subject and audience (api://AzureADTokenExchange) must equal the token's iss, sub and aud.",
  },
  700211: {
    code: 'federated_credential_mismatch',
    step: 'client_secret',
    hint: "No federated credential of the app has the token's issuer: set the federated credential's Issuer to the token's iss exactly (the OIDC issuer URL of the cluster).",
  },
  700212: {
    code: 'federated_credential_mismatch',
    step: 'client_secret',
    hint: "No federated credential of the app has the token's audience: the token's aud must be api://AzureADTokenExchange, as the federated credential's Audience.",
  },
  700213: {
    code: 'federated_credential_mismatch',
    step: 'client_secret',
    hint: "No federated credential of the app has the token's subject: set the federated credential's Subject to the token's sub exactly (system:serviceaccount:<namespace>:<name>).",
  },
  700016: {
    code: 'application_not_found',
    step: 'tenant_and_client_id',
    hint: 'No application with this client id exists in the tenant: check the Application (client) ID, and for a single-tenant app the Directory (tenant) ID.',
  },
  90002: {
    code: 'tenant_not_found',
    step: 'tenant_and_client_id',
    hint: "The tenant does not exist: copy the Directory (tenant) ID from the app registration's Overview.",
  },
  65001: {
    code: 'consent_required',
    step: 'admin_consent',
    hint: 'Consent is missing: in API permissions, Grant admin consent for the tenant.',
  },
  7000229: {
    code: 'service_principal_missing',
    step: 'admin_consent',
    hint: "The app has no service principal in this customer's tenant: an administrator of that tenant must consent to it " +
      '(https://login.microsoftonline.com/<tenant>/adminconsent?client_id=<client id>, which creates the Enterprise application), ' +
      "then register it in Exchange Online (New-ServicePrincipal) and give it the mailbox (Add-MailboxPermission). Check the mailbox's tenantId too.",
  },
  70011: {
    code: 'invalid_scope',
    step: 'api_permissions',
    hint: 'The requested scope is not valid: app-only tokens use https://outlook.office365.com/.default; check the Office 365 Exchange Online permissions.',
  },
  50011: {
    code: 'redirect_uri_mismatch',
    step: 'redirect_uri',
    hint: "The callback URL is not registered: add the service's callback URL as a Web redirect URI in Authentication.",
  },
  500113: {
    code: 'redirect_uri_mismatch',
    step: 'redirect_uri',
    hint: "The app has no redirect URI: add the service's callback URL as a Web redirect URI in Authentication.",
  },
  700082: { code: 'refresh_token_expired', step: 'user_sign_in', hint: `The sign-in has expired. ${RENEW}` },
  70008: { code: 'refresh_token_expired', step: 'user_sign_in', hint: `The sign-in has expired. ${RENEW}` },
  50173: { code: 'grant_revoked', step: 'user_sign_in', hint: `The sign-in was revoked (for example after a password change). ${RENEW}` },
  50020: {
    code: 'user_not_in_tenant',
    step: 'user_sign_in',
    hint: "The account that signed in is not in the app's tenant: sign in with an account of the right tenant, or make the app multi-tenant.",
  },
  50059: {
    code: 'tenant_required',
    step: 'tenant_and_client_id',
    hint: 'App-only connections need the Directory (tenant) ID; common and organizations are refused for client credentials.',
  },
  90014: { code: 'malformed_token_request', step: 'app_registration', hint: 'The token request was malformed; this is a bug in mailsync, please report it.' },
  900144: { code: 'malformed_token_request', step: 'app_registration', hint: 'The token request was malformed; this is a bug in mailsync, please report it.' },
  9002313: { code: 'malformed_token_request', step: 'app_registration', hint: 'The token request was malformed; this is a bug in mailsync, please report it.' },
};

export function meaningOf(aadsts: number): AadstsMeaning | undefined {
  return TABLE[aadsts];
}

/** AADSTS codes the table knows, for tests and docs. */
export function knownAadstsCodes(): number[] {
  return Object.keys(TABLE).map(Number);
}

/** The first `AADSTSnnnn` in a text, for answers that carry no `error_codes`. */
export function aadstsIn(text: string | undefined): number | undefined {
  const match = /AADSTS(\d{4,8})/.exec(text ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * Entra's own sentence, without trace ids and timestamps. MSAL wraps it as
 * "Error(s): 7000215 - Timestamp: … - Description: AADSTS7000215: … Trace ID: …
 * - Correlation ID: … - Trace ID: …"; the token endpoint alone sends
 * "AADSTS7000215: …\r\nTrace ID: …".
 */
export function entraSentence(description: string | undefined): string | undefined {
  if (!description) return undefined;
  const start = description.indexOf('AADSTS');
  const text = start >= 0 ? description.slice(start) : description;
  const end = text.search(/\r?\n| Trace ID:| - Correlation ID:| - Timestamp:/);
  return (end >= 0 ? text.slice(0, end) : text).trim() || undefined;
}

export function aadstsError(aadsts: number, description: string | undefined, cause?: unknown): AppError {
  const meaning = meaningOf(aadsts);
  const detail = entraSentence(description) ?? `The identity platform answered AADSTS${aadsts}.`;
  if (!meaning) {
    return new AppError('identity_platform_error', detail, { fields: { aadstsCode: aadsts }, cause });
  }
  return new AppError(meaning.code, detail, { hint: meaning.hint, step: meaning.step, fields: { aadstsCode: aadsts }, cause });
}
