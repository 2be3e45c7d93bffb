/**
 * The two routes a browser reaches without an API key, so they are
 * registered outside the API-key scope (see app.ts) and documented with
 * `security: []`:
 *
 * - GET /v1/oauth/callback: Microsoft sends the browser back here after
 *   either flow; the page says which account is connected or what failed
 *   (or, for the sign-in provider, the browser is sent on to returnTo).
 * - GET /v1/connections/{id}/login: an application's "Sign in with
 *   Microsoft" button; redirects to Microsoft.
 *
 * Both answer HTML, never a problem document, and never 500 for bad input:
 * query validation is attached to the request and rendered as a page.
 * Nothing from the query is echoed (a failure page says its code's fixed
 * sentence, pages/page-sentences.ts; the error's detail goes to the log);
 * codes, states and the sign-in cookie are never logged. The sign-in start
 * sets the cookie that binds the sign-in to its browser (sign-in-cookie.ts);
 * the callback reads it and clears it once the sign-in is used up.
 */
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TypedApp } from '../typed-routes.js';
import type { CallbackOutcome, OAuthCallback } from '../../domain/oauth/callback.js';
import { AdminConsentStartQuery, CallbackQuery, LoginQuery } from '../schemas/oauth.js';
import type { SignIn } from '../../domain/oauth/sign-in.js';
import type { AdminConsent } from '../../domain/oauth/admin-consent.js';
import { classify } from '../../errors/classify.js';
import { AppError } from '../../errors/errors.js';
import { connectedPage, consentedPage, errorPage } from '../pages/oauth-outcome.js';
import { htmlResponse, noStoreHeaders, sendPage } from '../pages/oauth-page.js';
import type { SignInCookie } from '../sign-in-cookie.js';
import { malformedPathId } from '../plugins/path-ids.js';
import { IdParams } from '../schemas/id-params.js';

export interface PublicOAuthRouteDeps {
  callback: Pick<OAuthCallback, 'handle'>;
  signIn: Pick<SignIn, 'start'>;
  adminConsent: Pick<AdminConsent, 'start'>;
  signInCookie: SignInCookie;
  /** Runs first on both routes: answers a 429 page when a rate limit is reached (see plugins/public-rate-limit.ts). */
  rateLimit?: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
}

/** Documented exemption from the API key: browsers, not API clients, call these. */
const security: [] = [];
const failurePages = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, htmlResponse('A page saying what went wrong and what to do.')]));

const DETAIL_LOG_MAX = 300;

function refuse(request: FastifyRequest, reply: FastifyReply, err: unknown, context: { flow?: string; mailboxId?: string; connectionId?: string; returnTo?: string } = {}): FastifyReply {
  const c = classify(err);
  // The page shows a fixed sentence; the detail (which check failed, Microsoft's words) is for support, bounded.
  const fields = { flow: context.flow, mailboxId: context.mailboxId, connectionId: context.connectionId, errorCode: c.code, detail: c.detail.slice(0, DETAIL_LOG_MAX) };
  if (c.status >= 500) request.log.error({ ...fields, err }, 'oauth browser request failed');
  else request.log.info(fields, 'oauth browser request refused');
  const retryAfter = c.code === 'rate_limited' ? c.fields.retryAfterSeconds : undefined;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  return sendPage(reply, errorPage(err, String(request.id), context.returnTo));
}

function malformed(detail: string): AppError {
  return new AppError('validation_failed', detail, {
    hint: 'Start the sign-in again from its beginning instead of editing or reusing the address.',
  });
}

function finish(request: FastifyRequest, reply: FastifyReply, outcome: CallbackOutcome, cookie: SignInCookie): FastifyReply {
  if (outcome.spentBinding !== undefined) cookie.clear(reply, outcome.spentBinding);
  switch (outcome.kind) {
    case 'connected':
      request.log.info({ flow: 'delegated', mailboxId: outcome.mailboxId }, 'mailbox authorized');
      return sendPage(reply, connectedPage(outcome, String(request.id)));
    case 'consented':
      request.log.info({ flow: 'admin_consent', connectionId: outcome.connectionId, tenantId: outcome.tenantId }, 'admin consent granted');
      return sendPage(reply, consentedPage(outcome, String(request.id)));
    case 'redirect':
      request.log.info({ flow: 'sign_in' }, 'sign-in verified');
      return noStoreHeaders(reply).redirect(outcome.location, 302);
    case 'failed':
      return refuse(request, reply, outcome.error, outcome);
  }
}

export function publicOAuthRoutes(deps: PublicOAuthRouteDeps) {
  return async (app: TypedApp): Promise<void> => {
    if (deps.rateLimit) app.addHook('onRequest', deps.rateLimit);
    app.get('/oauth/callback', {
      attachValidation: true,
      // Both routes change state (a state is taken, or stored): no implicit HEAD twin for prefetchers to trigger.
      exposeHeadRoute: false,
      schema: {
        tags: ['mailboxes', 'sign-in'], security, summary: 'Where Microsoft sends the browser back after a sign-in (no API key)',
        description:
          'Register `${PUBLIC_URL}/v1/oauth/callback` as a **Web** redirect URI of the app registration. Takes the one-time state ' +
          '(10 minutes, single use), redeems the code and checks the ID token. Delegated mailbox: answers a page naming the account ' +
          'now connected (200) or what went wrong (4xx). Sign-in provider: redirects (302) to returnTo with a one-time login code, ' +
          'only for the browser that started the sign-in (its cookie; else 400 `sign_in_not_bound`, and the state stays usable by that browser). ' +
          'Admin consent: `admin_consent=True&tenant=…` lists the tenant on the connection and answers a page saying so (200), only for the browser ' +
          'that opened the consent link (else 400 `sign_in_not_bound`); a declined consent is 400 `admin_consent_declined`, a non-administrator 403 `admin_consent_required`. ' +
          'Failure pages say a fixed sentence per error code, never error_description.',
        querystring: CallbackQuery,
        response: {
          200: htmlResponse('The account is connected, or the tenant has granted admin consent.'),
          302: Type.Null({ description: 'Sign-in provider: on to returnTo with `?code=…` (exchange it with POST /v1/login/exchange).' }),
          ...failurePages(400, 403, 404, 409, 422, 429, 502, 503, 504),
        },
      },
    }, async (request, reply) => {
      if (request.validationError) return refuse(request, reply, malformed('The sign-in response from Microsoft is malformed or too long.'));
      const browser = { binding: (tag: string) => deps.signInCookie.read(request, tag) };
      return finish(request, reply, await deps.callback.handle(request.query, browser), deps.signInCookie);
    });

    app.get('/oauth/admin-consent', {
      attachValidation: true,
      exposeHeadRoute: false,
      schema: {
        tags: ['connections'], security, summary: "Open an admin consent link: on to Microsoft's admin consent page (no API key)",
        description:
          'The link POST /v1/connections/{id}/admin-consent made, for a tenant administrator. Redirects (302) to Microsoft\'s ' +
          '`/adminconsent` page with a one-time state (10 minutes) and sets an HttpOnly cookie (`__Host-mailsync_signin_…`; ' +
          '`mailsync_signin_…` when PUBLIC_URL is http) that binds the consent to this browser. Opening the link does not use it up; ' +
          'it works for 7 days, until a consent through it succeeds.',
        querystring: AdminConsentStartQuery,
        response: {
          302: Type.Null({ description: "Off to Microsoft's admin consent page." }),
          ...failurePages(400, 404, 422, 429, 502, 503, 504),
        },
      },
    }, async (request, reply) => {
      if (request.validationError) return refuse(request, reply, malformed('The admin consent link is malformed or too long.'));
      try {
        const { location, binding } = await deps.adminConsent.start(request.query.ticket);
        deps.signInCookie.set(reply, binding);
        return noStoreHeaders(reply).redirect(location, 302);
      } catch (err) {
        return refuse(request, reply, err, { flow: 'admin_consent' });
      }
    });

    app.get('/connections/:id/login', {
      // Checked in the handler (malformedPathId), so a malformed id is a 404 page, not a problem document.
      config: { pathIds: { id: 'con' } },
      attachValidation: true,
      exposeHeadRoute: false,
      schema: {
        tags: ['sign-in'], security, summary: 'Start "Sign in with Microsoft" through a connection (no API key)',
        description:
          'Browsers start here. Redirects (302) to Microsoft for an OpenID Connect sign-in (openid profile email, PKCE, nonce); ' +
          'the callback verifies the ID token and sends the browser to returnTo with a one-time `code` (60 s). returnTo must sit ' +
          "under the connection's loginReturnTo, or LOGIN_RETURN_TO_ALLOWLIST when it has none; with an empty list the sign-in " +
          'provider is disabled (403). Sets an HttpOnly cookie (`__Host-mailsync_signin_…`; `mailsync_signin_…` when PUBLIC_URL is http) ' +
          'that binds the sign-in to this browser: the callback refuses a browser without it. Only valid starts count against SIGN_IN_STARTS_PER_MINUTE.',
        params: IdParams,
        querystring: LoginQuery,
        response: {
          302: Type.Null({ description: "Off to Microsoft's sign-in page." }),
          ...failurePages(400, 403, 404, 429, 502, 503, 504),
        },
      },
    }, async (request, reply) => {
      // As on the API routes: a bad query first, then an id of another shape is the 404 of an unknown one.
      const unknown = malformedPathId(request);
      const failed = request.validationError;
      if (failed && !(failed.validationContext === 'params' && unknown)) {
        return refuse(request, reply, malformed('The returnTo parameter is missing, malformed or too long.'));
      }
      if (unknown) return refuse(request, reply, unknown, { flow: 'sign_in' });
      try {
        const { location, binding } = await deps.signIn.start(request.params.id, request.query.returnTo);
        deps.signInCookie.set(reply, binding);
        return noStoreHeaders(reply).redirect(location, 302);
      } catch (err) {
        return refuse(request, reply, err, { flow: 'sign_in' });
      }
    });
  };
}
