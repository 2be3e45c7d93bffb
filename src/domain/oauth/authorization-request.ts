/**
 * The start of an authorization request, alike for both flows that send a
 * browser to Microsoft: a fresh one-time `state`, a PKCE verifier (S256) and
 * a nonce; the record the callback will take, stored under the state; and
 * the authorize URL, with the account picker.
 */
import type { AppCredentials, MsalGateway } from '../../adapters/msal/gateway.js';
import type { OneTimeStore } from '../../store/one-time-store.js';
import { newPkce, newSecret } from './secrets.js';
import type { StateRecord } from './state-record.js';

export interface AuthorizationRequestDeps {
  msal: Pick<MsalGateway, 'authCodeUrl'>;
  states: OneTimeStore<StateRecord>;
  /** `${PUBLIC_URL}/v1/oauth/callback`, registered as a Web redirect URI. */
  redirectUri: string;
  now: () => Date;
}

/** A state record as its flow knows it; the secrets and the time are added here. */
export type FlowRecord = StateRecord extends infer R ? (R extends StateRecord ? Omit<R, 'verifier' | 'nonce' | 'createdAt'> : never) : never;

export interface AuthorizationRequest {
  record: FlowRecord;
  scopes: string[];
  /** The account to suggest in the picker. */
  loginHint?: string;
  /** The `state` to use, when the flow needed it beforehand (the sign-in binds its browser to it); else a fresh one. */
  state?: string;
}

/** Stores the request's state record and answers the URL to send the browser to. */
export async function startAuthorization(deps: AuthorizationRequestDeps, app: AppCredentials, request: AuthorizationRequest): Promise<string> {
  const state = request.state ?? newSecret();
  const pkce = newPkce();
  const nonce = newSecret();
  const record = { ...request.record, verifier: pkce.verifier, nonce, createdAt: deps.now().toISOString() } as StateRecord;
  await deps.states.put(state, record);
  return deps.msal.authCodeUrl(app, {
    redirectUri: deps.redirectUri,
    scopes: request.scopes,
    state,
    codeChallenge: pkce.challenge,
    nonce,
    ...(request.loginHint === undefined ? {} : { loginHint: request.loginHint }),
    prompt: 'select_account',
  });
}
