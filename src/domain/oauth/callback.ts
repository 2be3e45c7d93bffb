/**
 * GET /v1/oauth/callback: where Microsoft sends the browser back, for both
 * flows. The state is taken first (GETDEL), whatever else the request says,
 * so every state is used at most once: a replay, an expired state and a
 * state we never issued all end here as `oauth_state_invalid`. The record
 * says which flow to finish. Errors are returned, not thrown, with what is
 * known of the flow, so the page can say what went wrong and where to go.
 *
 * One exception to "taken first": a sign-in bound to its browser
 * (browser-binding.ts) is read before it is taken, and a browser without its
 * binding secret is refused (`sign_in_not_bound`) without using the state up,
 * so an attacker holding a victim's callback URL cannot spoil it either.
 */
import { AppError } from '../../errors/errors.js';
import type { OneTimeStore } from '../../store/one-time-store.js';
import { aadstsError, aadstsIn, entraSentence, meaningOf } from '../tokens/aadsts.js';
import { bindingMatches, bindingTag } from './browser-binding.js';
import type { DelegatedAuthorization } from './delegated-authorization.js';
import { SECRET_PATTERN } from './secrets.js';
import type { SignIn } from './sign-in.js';
import type { AdminConsent } from './admin-consent.js';
import type { AdminConsentState, SignInState, StateRecord } from './state-record.js';

export interface CallbackParams {
  code?: string | undefined;
  state?: string | undefined;
  error?: string | undefined;
  error_description?: string | undefined;
  /** Admin consent's answer: `True`, with the consenting tenant's id. */
  admin_consent?: string | undefined;
  tenant?: string | undefined;
}

/** What the browser brought besides the query: the binding secret it keeps for a sign-in, by the sign-in's tag. */
export interface CallbackBrowser {
  binding(tag: string): string | undefined;
}

/** `spentBinding`: the tag of a binding used up with its state, for the route to clear its cookie. */
export type CallbackOutcome = (
  | { kind: 'connected'; mailboxId: string; email: string; account: string }
  | { kind: 'consented'; connectionId: string; name: string; tenantId: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'failed'; error: unknown; flow?: StateRecord['flow']; mailboxId?: string; connectionId?: string; returnTo?: string }
) & { spentBinding?: string };

export interface OAuthCallbackDeps {
  states: OneTimeStore<StateRecord>;
  delegated: Pick<DelegatedAuthorization, 'complete'>;
  signIn: Pick<SignIn, 'complete'>;
  adminConsent: Pick<AdminConsent, 'complete'>;
}

const DESCRIPTION_MAX = 300;

export function notBound(): AppError {
  return new AppError('sign_in_not_bound', 'This sign-in was started in another browser (or this browser does not keep its cookies), so it cannot be finished here.', {
    hint: 'Start the sign-in again from the application, in this browser, and allow it to keep cookies for this service.',
  });
}

/** Whether a sign-in's (or an admin consent's) callback reached a browser without its binding secret. */
function unbound(record: SignInState | AdminConsentState, state: string, browser: CallbackBrowser): boolean {
  // Records written before the binding existed carry none: refused too (their user starts again).
  return record.browserBinding === undefined || !bindingMatches(record.browserBinding, browser.binding(bindingTag(state)));
}

export function stateInvalid(): AppError {
  return new AppError('oauth_state_invalid', 'This sign-in link has expired (links last 10 minutes), was already used, or was not issued by this service.', {
    hint: 'Start again: use "Set up / Renew OAuth connection" (POST /v1/mailboxes/{id}/authorize) or the application\'s sign-in button, and finish within 10 minutes.',
    step: 'user_sign_in',
  });
}

/** Microsoft's `error` redirect as a typed error: declined consent, or an AADSTS code's own meaning. */
export function authorizeError(error: string, description: string | undefined): AppError {
  const aadsts = aadstsIn(description);
  if (aadsts !== undefined && meaningOf(aadsts)) return aadstsError(aadsts, description);
  if (error === 'access_denied') {
    return new AppError('oauth_denied', 'The user declined consent: Microsoft answered access_denied, so no sign-in took place.', {
      hint: 'Sign in again and accept the requested permissions, or ask an administrator to grant admin consent for the app (API permissions → Grant admin consent for the tenant).',
      step: 'admin_consent',
      ...(aadsts !== undefined ? { fields: { aadstsCode: aadsts } } : {}),
    });
  }
  const sentence = entraSentence(description)?.slice(0, DESCRIPTION_MAX);
  return new AppError('identity_platform_error', sentence ?? `Microsoft refused the sign-in (${error}).`, {
    ...(aadsts !== undefined ? { fields: { aadstsCode: aadsts } } : {}),
  });
}

export class OAuthCallback {
  constructor(private readonly deps: OAuthCallbackDeps) {}

  async handle(params: CallbackParams, browser: CallbackBrowser = { binding: () => undefined }): Promise<CallbackOutcome> {
    const { state } = params;
    let record: StateRecord | undefined;
    try {
      // Anything but our own 43-character states is refused without a Redis round trip.
      if (state !== undefined && SECRET_PATTERN.test(state)) {
        const seen = await this.deps.states.peek(state);
        if (seen?.flow === 'sign_in' && unbound(seen, state, browser)) {
          return { kind: 'failed', error: notBound(), flow: seen.flow, returnTo: seen.returnTo };
        }
        if (seen?.flow === 'admin_consent' && unbound(seen, state, browser)) {
          return { kind: 'failed', error: notBound(), flow: seen.flow, connectionId: seen.connectionId };
        }
        record = seen && await this.deps.states.take(state);
      }
    } catch (err) {
      return { kind: 'failed', error: err };
    }
    if (!record || state === undefined) return { kind: 'failed', error: stateInvalid() };
    if (record.flow === 'admin_consent') return this.consented(record, params, bindingTag(state));
    const context = record.flow === 'delegated'
      ? { flow: record.flow, mailboxId: record.mailboxId }
      : { flow: record.flow, returnTo: record.returnTo, spentBinding: bindingTag(state) };
    try {
      if (params.error !== undefined) throw authorizeError(params.error, params.error_description);
      if (!params.code) throw new AppError('validation_failed', 'Microsoft sent the browser back with neither a code nor an error.');
      if (record.flow === 'delegated') {
        const done = await this.deps.delegated.complete(record, params.code);
        return { kind: 'connected', mailboxId: done.mailbox.id, email: done.mailbox.email, account: done.account };
      }
      return { kind: 'redirect', location: await this.deps.signIn.complete(record, params.code), spentBinding: bindingTag(state) };
    } catch (err) {
      return { kind: 'failed', error: err, ...context };
    }
  }

  private async consented(record: AdminConsentState, params: CallbackParams, spentBinding: string): Promise<CallbackOutcome> {
    try {
      const { connection, tenantId } = await this.deps.adminConsent.complete(record, params);
      return { kind: 'consented', connectionId: connection.id, name: connection.name, tenantId, spentBinding };
    } catch (err) {
      return { kind: 'failed', error: err, flow: record.flow, connectionId: record.connectionId, spentBinding };
    }
  }
}
