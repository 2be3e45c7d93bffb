/**
 * GET /v1/oauth/callback: where Microsoft sends the browser back, for both
 * flows. The state is taken first (GETDEL), whatever else the request says,
 * so every state is used at most once: a replay, an expired state and a
 * state we never issued all end here as `oauth_state_invalid`. The record
 * says which flow to finish. Errors are returned, not thrown, with what is
 * known of the flow, so the page can say what went wrong and where to go.
 */
import { entraSentence, aadstsError } from '../../adapters/msal/errors.js';
import { AppError } from '../../errors/errors.js';
import type { OneTimeStore } from '../../store/one-time-store.js';
import { aadstsIn, meaningOf } from '../tokens/aadsts.js';
import type { DelegatedAuthorization } from './delegated-authorization.js';
import { SECRET_PATTERN } from './secrets.js';
import type { SignIn } from './sign-in.js';
import type { StateRecord } from './state-record.js';

export interface CallbackParams {
  code?: string | undefined;
  state?: string | undefined;
  error?: string | undefined;
  error_description?: string | undefined;
}

export type CallbackOutcome =
  | { kind: 'connected'; mailboxId: string; email: string; account: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'failed'; error: unknown; flow?: StateRecord['flow']; mailboxId?: string; returnTo?: string };

export interface OAuthCallbackDeps {
  states: OneTimeStore<StateRecord>;
  delegated: Pick<DelegatedAuthorization, 'complete'>;
  signIn: Pick<SignIn, 'complete'>;
}

const DESCRIPTION_MAX = 300;

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

  async handle(params: CallbackParams): Promise<CallbackOutcome> {
    let record: StateRecord | undefined;
    try {
      // Anything but our own 43-character states is refused without a Redis round trip.
      if (params.state !== undefined && SECRET_PATTERN.test(params.state)) record = await this.deps.states.take(params.state);
    } catch (err) {
      return { kind: 'failed', error: err };
    }
    if (!record) return { kind: 'failed', error: stateInvalid() };
    const context = record.flow === 'delegated'
      ? { flow: record.flow, mailboxId: record.mailboxId }
      : { flow: record.flow, returnTo: record.returnTo };
    try {
      if (params.error !== undefined) throw authorizeError(params.error, params.error_description);
      if (!params.code) throw new AppError('validation_failed', 'Microsoft sent the browser back with neither a code nor an error.');
      if (record.flow === 'delegated') {
        const done = await this.deps.delegated.complete(record, params.code);
        return { kind: 'connected', mailboxId: done.mailbox.id, email: done.mailbox.email, account: done.account };
      }
      return { kind: 'redirect', location: await this.deps.signIn.complete(record, params.code) };
    } catch (err) {
      return { kind: 'failed', error: err, ...context };
    }
  }
}
