/**
 * The API-key side of the OAuth flows: POST /v1/mailboxes/{id}/authorize
 * (the "Set up / Renew OAuth connection" button) and POST /v1/login/exchange
 * (an application trades a login code for the verified claims). The browser
 * side is in oauth-public.ts.
 */
import type { TypedApp } from '../typed-routes.js';
import type { DelegatedAuthorization } from '../../domain/oauth/delegated-authorization.js';
import { AdminConsentBody, AdminConsentResult, AuthorizeResult, LoginClaimsView, LoginExchangeBody } from '../schemas/oauth.js';
import type { AdminConsent } from '../../domain/oauth/admin-consent.js';
import type { SignIn } from '../../domain/oauth/sign-in.js';
import { refuseBody } from '../schemas/no-body.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams } from '../schemas/id-params.js';

const security = [{ apiKey: [] }];

export interface OAuthRouteDeps {
  delegated: Pick<DelegatedAuthorization, 'authorizeUrl'>;
  signIn: Pick<SignIn, 'exchange'>;
  adminConsent: Pick<AdminConsent, 'link'>;
}

export function oauthRoutes(deps: OAuthRouteDeps) {
  return async (app: TypedApp): Promise<void> => {
    app.post('/mailboxes/:id/authorize', {
      config: { pathIds: { id: 'mbx' } },
      preValidation: refuseBody,
      schema: {
        tags: ['mailboxes'], security, summary: 'Set up / Renew OAuth connection: a sign-in URL for the mailbox user',
        description:
          'Takes no body. Delegated mailboxes only (app-only: 409). Open the URL in a private browser window and sign in as the mailbox user; ' +
          'it is valid once, for 10 minutes. On an active mailbox this renews the sign-in; the current one keeps working until the new one succeeds.',
        params: IdParams,
        response: { 200: AuthorizeResult, ...problemResponses(400, 401, 404, 409, 422, 502, 503, 504) },
      },
    }, async (request, reply) => {
      // The URL carries a live one-time state: keep it out of caches, like a token response.
      reply.header('cache-control', 'no-store');
      return { authorizeUrl: await deps.delegated.authorizeUrl(request.params.id) };
    });

    app.post('/connections/:id/admin-consent', {
      config: { pathIds: { id: 'con' } },
      schema: {
        tags: ['connections'], security, summary: "Admin consent for a customer's tenant: a link for its administrator",
        description:
          "Send the link to the tenant's administrator (a multi-tenant app: Supported account types, Accounts in any organizational directory). " +
          "It opens Microsoft's `/adminconsent` page for the connection's app (app-only: https://outlook.office365.com/.default; delegated: " +
          'https://outlook.office.com/.default) and comes back to `${PUBLIC_URL}/v1/oauth/callback`, which lists the tenant in the connection\'s ' +
          '`consentedTenants` and announces `connection.consented`. The body may be empty (`{}`).',
        params: IdParams,
        body: AdminConsentBody,
        response: { 200: AdminConsentResult, ...problemResponses(400, 401, 404, 413, 415) },
      },
    }, async (request, reply) => {
      // The link is a bearer of the right to start a consent: keep it out of caches.
      reply.header('cache-control', 'no-store');
      return deps.adminConsent.link(request.params.id, request.body.tenant);
    });

    app.post('/login/exchange', {
      config: { scope: 'login' },
      schema: {
        tags: ['sign-in'], security, summary: 'Trade a login code for the verified claims of who signed in',
        description: 'Call from the application backend as soon as the browser reaches returnTo. A code works once, within 60 seconds.',
        body: LoginExchangeBody,
        response: { 200: LoginClaimsView, ...problemResponses(400, 401, 413, 415, 503) },
      },
    }, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return deps.signIn.exchange(request.body.code);
    });
  };
}
