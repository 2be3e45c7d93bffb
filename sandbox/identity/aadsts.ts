/**
 * The AADSTS error catalogue: code → OAuth `error`, HTTP status, the sentence
 * Entra writes, and the `suberror` it adds. Texts are copied from real Entra
 * responses quoted in public issue trackers (November 2026); the few marked
 * "approximate" are reconstructed from the error-code reference, whose exact
 * wording we could not find in a real response.
 *
 * MSAL Node turns a body with `suberror` in {consent_required, bad_token, …}
 * into an InteractionRequiredAuthError, every other error body into a
 * ServerError; both carry `errorNo` = `error_codes[0]` (a number at run time,
 * although MSAL types it as a string).
 */
import { randomUUID } from 'node:crypto';

/** Values spliced into descriptions; anything missing gets a neutral placeholder. */
export interface ErrorParams {
  clientId?: string;
  appName?: string;
  tenant?: string;
  upn?: string;
  redirectUri?: string;
  scope?: string;
  field?: string;
  grantType?: string;
  responseType?: string;
  issuedAt?: string;
  validFrom?: string;
  codeRedirectUri?: string;
  /** Client assertions: the key's thumbprint (hex), the assertion's times, the federated token's claims. */
  thumbprint?: string;
  currentTime?: string;
  expiry?: string;
  issuer?: string;
  subject?: string;
  audience?: string;
}

export interface AadstsEntry {
  code: number;
  error: string;
  status: number;
  suberror?: string;
  text: (p: Required<ErrorParams>) => string;
}

const entries: AadstsEntry[] = [
  { code: 7000215, error: 'invalid_client', status: 401, text: (p) => `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${p.clientId}'.` },
  { code: 7000218, error: 'invalid_client', status: 401, text: () => `The request body must contain the following parameter: 'client_assertion' or 'client_secret'.` },
  { code: 7000222, error: 'invalid_client', status: 401, text: (p) => `The provided client secret keys for app '${p.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.` },
  { code: 700016, error: 'unauthorized_client', status: 400, text: (p) => `Application with identifier '${p.clientId}' was not found in the directory '${p.tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.` },
  { code: 90002, error: 'invalid_request', status: 400, text: (p) => `Tenant '${p.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.` },
  { code: 65001, error: 'invalid_grant', status: 400, suberror: 'consent_required', text: (p) => `The user or administrator has not consented to use the application with ID '${p.clientId}' named '${p.appName}'. Send an interactive authorization request for this user and resource.` },
  // Quoted from real answers (client credentials in a tenant where the app has no service principal); 401 as the other invalid_client answers.
  { code: 7000229, error: 'invalid_client', status: 401, text: (p) => `The client application ${p.clientId} is missing service principal in the tenant ${p.tenant}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119` },
  { code: 65004, error: 'access_denied', status: 400, text: () => `User declined to consent to access the app.` },
  // approximate wordings of the admin consent endpoint's answers for a user who is no administrator.
  { code: 90094, error: 'access_denied', status: 400, text: () => `Admin consent is required for the permissions requested by this application. An admin consent request may be sent to the admin.` },
  { code: 90099, error: 'access_denied', status: 400, text: (p) => `The application '${p.clientId}' has not been authorized in the tenant '${p.tenant}'. Applications must be authorized to access the customer tenant before partner delegated administrators can use them.` },
  { code: 70011, error: 'invalid_scope', status: 400, text: (p) => `The provided value for the input parameter 'scope' is not valid. The scope ${p.scope} is not valid.` },
  // approximate: Entra's text for scopes of several resources in one request.
  { code: 28000, error: 'invalid_request', status: 400, text: (p) => `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${p.scope} is not valid.` },
  { code: 50011, error: 'invalid_request', status: 400, text: (p) => `The redirect URI '${p.redirectUri}' specified in the request does not match the redirect URIs configured for the application '${p.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.` },
  // approximate wording.
  { code: 500112, error: 'invalid_grant', status: 400, text: (p) => `The reply address '${p.redirectUri}' does not match the reply address '${p.codeRedirectUri}' provided when requesting Authorization code.` },
  { code: 500113, error: 'invalid_request', status: 400, text: () => `No reply address is registered for the application.` },
  { code: 700082, error: 'invalid_grant', status: 400, suberror: 'bad_token', text: (p) => `The refresh token has expired due to inactivity. The token was issued on ${p.issuedAt} and was inactive for 90.00:00:00.` },
  { code: 70008, error: 'invalid_grant', status: 400, text: () => `The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.` },
  { code: 50173, error: 'invalid_grant', status: 400, text: (p) => `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${p.issuedAt}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${p.validFrom}'.` },
  { code: 54005, error: 'invalid_grant', status: 400, text: () => `OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.` },
  { code: 501481, error: 'invalid_grant', status: 400, text: () => `The Code_Verifier does not match the code_challenge supplied in the authorization request.` },
  { code: 70000, error: 'invalid_grant', status: 400, text: () => `Provided grant is invalid or malformed.` },
  { code: 50020, error: 'invalid_request', status: 400, text: (p) => `User account '${p.upn}' from identity provider 'https://sts.windows.net/${p.tenant}/' does not exist in tenant '${p.tenant}' and cannot access the application '${p.clientId}'(${p.appName}) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.` },
  { code: 50034, error: 'invalid_request', status: 400, text: (p) => `The user account ${p.upn} does not exist in the ${p.tenant} directory. To sign into this application, the account must be added to the directory.` },
  { code: 50059, error: 'invalid_request', status: 400, text: () => `No tenant-identifying information found in either the request or implied by any provided credentials.` },
  { code: 50194, error: 'invalid_request', status: 400, text: (p) => `Application '${p.clientId}'(${p.appName}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.` },
  { code: 90014, error: 'invalid_request', status: 400, text: (p) => `The required field '${p.field}' is missing from the credential. Ensure that you have all the necessary parameters for the login request.` },
  { code: 9002313, error: 'invalid_request', status: 400, text: () => `Invalid request. Request is malformed or invalid.` },
  { code: 70003, error: 'unsupported_grant_type', status: 400, text: (p) => `The app requested an unsupported grant type '${p.grantType}'.` },
  { code: 700054, error: 'unsupported_response_type', status: 400, text: (p) => `response_type '${p.responseType}' is not enabled for the application.` },
  // approximate wording (error-code reference: "Invalid Code_Challenge_method parameter").
  { code: 50149, error: 'invalid_request', status: 400, text: () => `Invalid Code_Challenge_method parameter.` },
  // Client assertions (certificate and federated credentials). 700027, 700024, 700023, 700021 and 50027 are quoted
  // from real responses; 7000274's wording is approximate (Entra's "Key was found, but use of the key to verify the
  // signature failed" reason, seen with AADSTS50013), as are 700211-700213 past their first sentence.
  { code: 700027, error: 'invalid_client', status: 401, text: (p) => `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${p.thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${p.clientId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/${p.clientId}']` },
  { code: 7000274, error: 'invalid_client', status: 401, text: (p) => `Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '${p.thumbprint}']` },
  { code: 700024, error: 'invalid_client', status: 401, text: (p) => `Client assertion is not within its valid time range. Current time: ${p.currentTime}, assertion valid from ${p.validFrom}, expiry time of assertion ${p.expiry}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .` },
  { code: 700023, error: 'invalid_client', status: 401, text: () => `Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .` },
  { code: 700021, error: 'invalid_client', status: 401, text: () => `Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .` },
  { code: 50027, error: 'invalid_request', status: 400, text: () => `JWT token is invalid or malformed.` },
  { code: 700211, error: 'invalid_client', status: 401, text: (p) => `No matching federated identity record found for presented assertion issuer '${p.issuer}'. Please note that the matching is done using a case-sensitive comparison. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.` },
  { code: 700212, error: 'invalid_client', status: 401, text: (p) => `No matching federated identity record found for presented assertion audience '${p.audience}'. Please note that the matching is done using a case-sensitive comparison. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.` },
  { code: 700213, error: 'invalid_client', status: 401, text: (p) => `No matching federated identity record found for presented assertion subject '${p.subject}'. Please note that the matching is done using a case-sensitive comparison. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.` },
  { code: 90033, error: 'temporarily_unavailable', status: 503, text: () => `A transient error has occurred. Please try again.` },
];

export const AADSTS: ReadonlyMap<number, AadstsEntry> = new Map(entries.map((e) => [e.code, e]));

/** The codes of microsoft-facts.md plus the ones this imitation produces naturally. */
export function catalogue(): AadstsEntry[] {
  return [...entries];
}

const PLACEHOLDERS: Required<ErrorParams> = {
  clientId: '00000000-0000-0000-0000-000000000000',
  appName: 'mailsync',
  tenant: '00000000-0000-0000-0000-000000000000',
  upn: 'user@example.com',
  redirectUri: '',
  scope: '',
  field: 'unknown',
  grantType: '',
  responseType: '',
  issuedAt: new Date(0).toISOString(),
  validFrom: new Date(0).toISOString(),
  codeRedirectUri: '',
  thumbprint: '',
  currentTime: '',
  expiry: '',
  issuer: '',
  subject: '',
  audience: '',
};

/** Entra's timestamp format: `2021-03-24 10:05:03Z`. */
export function entraTimestamp(at: Date): string {
  return at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
  suberror?: string;
}

export function entraError(
  code: number,
  params: ErrorParams,
  opts: { baseUrl: string; correlationId?: string; at?: Date },
): { status: number; body: EntraErrorBody } {
  const entry = AADSTS.get(code);
  if (!entry) throw new Error(`AADSTS${code} is not in the catalogue`);
  const filled = { ...PLACEHOLDERS } as Required<ErrorParams>;
  for (const [key, value] of Object.entries(params)) if (value !== undefined) (filled as unknown as Record<string, string>)[key] = value;
  const timestamp = entraTimestamp(opts.at ?? new Date());
  const traceId = randomUUID();
  // Entra echoes the client-request-id header as the correlation id.
  const correlationId = opts.correlationId ?? randomUUID();
  return {
    status: entry.status,
    body: {
      error: entry.error,
      error_description: `AADSTS${code}: ${entry.text(filled)}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${opts.baseUrl}/error?code=${code}`,
      ...(entry.suberror ? { suberror: entry.suberror } : {}),
    },
  };
}
