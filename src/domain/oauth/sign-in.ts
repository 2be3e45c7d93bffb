/**
 * The Microsoft sign-in provider ("use the connection as a login provider"):
 * an application sends a browser to GET /v1/connections/{id}/login?returnTo=…,
 * the person signs in at Microsoft (OpenID Connect, authorization code flow
 * with PKCE and a nonce), the service verifies the ID token itself and sends
 * the browser back to `returnTo` with a one-time login code, and the
 * application's backend trades that code for the verified claims with its
 * API key (POST /v1/login/exchange).
 *
 * Why a code and not the claims in the URL: URLs end up in browser history,
 * proxies and referrers, and a browser can forge a URL; a code is worthless
 * without the API key, lives 60 seconds and works once. No Microsoft token
 * is kept: the redemption uses no cache partition.
 */
import type { MsalGateway } from '../../adapters/msal/gateway.js';
import type { IdTokenVerifier } from '../../adapters/oidc/id-token-verifier.js';
import type { ReturnToRule } from '../../config/login-config.js';
import { AppError } from '../../errors/errors.js';
import type { OneTimeStore } from '../../store/one-time-store.js';
import type { ConnectionService } from '../connections/service.js';
import { appCredentialsOf } from '../connections/credentials.js';
import { SIGN_IN_SCOPES } from '../tokens/claims.js';
import { allowedReturnTo, withLoginCode } from './return-to.js';
import { startAuthorization } from './authorization-request.js';
import { newSecret, SECRET_PATTERN } from './secrets.js';
import type { LoginClaims, SignInState, StateRecord } from './state-record.js';

export interface SignInDeps {
  connections: Pick<ConnectionService, 'credentials'>;
  msal: Pick<MsalGateway, 'authCodeUrl' | 'redeemCode'>;
  states: OneTimeStore<StateRecord>;
  codes: OneTimeStore<LoginClaims>;
  verifier: Pick<IdTokenVerifier, 'verify'>;
  /** LOGIN_RETURN_TO_ALLOWLIST; empty: sign-in disabled. */
  allowlist: readonly ReturnToRule[];
  redirectUri: string;
  now?: () => Date;
}

function disabled(): AppError {
  return new AppError('sign_in_disabled', 'Signing in with Microsoft is not enabled on this service.', {
    hint: 'An operator enables it by listing the applications allowed to receive sign-ins in LOGIN_RETURN_TO_ALLOWLIST (comma-separated origins or URL prefixes).',
  });
}

function notAllowed(): AppError {
  return new AppError('return_to_not_allowed', 'returnTo is not an address this service may send a sign-in back to.', {
    hint: 'returnTo must be an absolute URL under one of the origins or prefixes in LOGIN_RETURN_TO_ALLOWLIST.',
  });
}

export class SignIn {
  private readonly now: () => Date;

  constructor(private readonly deps: SignInDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private returnTo(raw: string): URL {
    if (this.deps.allowlist.length === 0) throw disabled();
    const url = allowedReturnTo(this.deps.allowlist, raw);
    if (!url) throw notAllowed();
    return url;
  }

  /** GET /v1/connections/{id}/login: the Microsoft authorize URL to redirect the browser to. */
  async start(connectionId: string, returnTo: string): Promise<string> {
    const target = this.returnTo(returnTo);
    const app = await appCredentialsOf(this.deps.connections, connectionId);
    return startAuthorization({ ...this.deps, now: this.now }, app, {
      record: { flow: 'sign_in', connectionId, returnTo: target.toString() },
      scopes: SIGN_IN_SCOPES,
    });
  }

  /** Finishes a sign-in (the callback took its state): the returnTo URL carrying a fresh login code. */
  async complete(record: SignInState, code: string): Promise<string> {
    // The allow-list may have changed (or differ in this process) since the start.
    const target = this.returnTo(record.returnTo);
    const app = await appCredentialsOf(this.deps.connections, record.connectionId);
    const { clientId } = app;
    const result = await this.deps.msal.redeemCode(app, undefined, {
      redirectUri: this.deps.redirectUri,
      scopes: SIGN_IN_SCOPES,
      code,
      codeVerifier: record.verifier,
      nonce: record.nonce,
    });
    if (!result.idToken) throw new AppError('identity_platform_bad_response', 'The token response carries no ID token.');
    const id = await this.deps.verifier.verify({ idToken: result.idToken, authority: app.authority, clientId, nonce: record.nonce });
    const claims: LoginClaims = { oid: id.oid, tid: id.tid, email: id.email, name: id.name, preferredUsername: id.preferredUsername };
    const loginCode = newSecret();
    await this.deps.codes.put(loginCode, claims);
    return withLoginCode(target.toString(), loginCode);
  }

  /** POST /v1/login/exchange: the verified claims, once. */
  async exchange(code: string): Promise<LoginClaims> {
    const claims = SECRET_PATTERN.test(code) ? await this.deps.codes.take(code) : undefined;
    if (!claims) {
      throw new AppError('login_code_invalid', 'This login code is unknown, expired (codes live 60 seconds) or already used.', {
        hint: 'Exchange the code as soon as the browser arrives at returnTo, once; on failure send the user through the sign-in again.',
      });
    }
    return claims;
  }
}
