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
 *
 * Where the browser may go back to: the connection's own `loginReturnTo`
 * when it has one, else LOGIN_RETURN_TO_ALLOWLIST; an empty list disables
 * the provider. The start is checked in full (connection, returnTo) before
 * it spends the global start budget and stores its record, so refused starts
 * cannot lock everyone else out. The browser is bound to its sign-in by a
 * cookie (browser-binding.ts), which the route sets.
 */
import type { MsalGateway } from '../../adapters/msal/gateway.js';
import type { IdTokenVerifier } from '../../adapters/oidc/id-token-verifier.js';
import { readReturnToRule, type ReturnToRule } from '../../config/login-config.js';
import { AppError } from '../../errors/errors.js';
import type { OneTimeStore } from '../../store/one-time-store.js';
import type { ConnectionRecord, ConnectionService } from '../connections/service.js';
import { appCredentials } from '../connections/credentials.js';
import { SIGN_IN_SCOPES } from '../tokens/claims.js';
import { allowedReturnTo, withLoginCode } from './return-to.js';
import { startAuthorization } from './authorization-request.js';
import { newBinding, type BrowserBinding } from './browser-binding.js';
import { newSecret, SECRET_PATTERN } from './secrets.js';
import type { LoginClaims, SignInState, StateRecord } from './state-record.js';

export interface SignInDeps {
  connections: Pick<ConnectionService, 'credentials'>;
  msal: Pick<MsalGateway, 'authCodeUrl' | 'redeemCode'>;
  states: OneTimeStore<StateRecord>;
  codes: OneTimeStore<LoginClaims>;
  verifier: Pick<IdTokenVerifier, 'verify'>;
  /** LOGIN_RETURN_TO_ALLOWLIST: for connections without a list of their own; empty: sign-in disabled for them. */
  allowlist: readonly ReturnToRule[];
  /**
   * Spends one of the sign-in starts allowed in all (SIGN_IN_STARTS_PER_MINUTE), called once a start
   * is known to be valid; throws `rate_limited` when none is left (start-budget.ts). None: unlimited.
   */
  admitStart?: () => Promise<void>;
  redirectUri: string;
  now?: () => Date;
}

/** Where the browser goes next, and the secret it keeps to prove at the callback that it started this sign-in. */
export interface SignInStart {
  location: string;
  binding: BrowserBinding;
}

function disabled(): AppError {
  return new AppError('sign_in_disabled', 'Signing in with Microsoft is not enabled on this service.', {
    hint: 'An operator enables it by listing the applications allowed to receive sign-ins in LOGIN_RETURN_TO_ALLOWLIST (comma-separated origins or URL prefixes), or in the connection\'s loginReturnTo.',
  });
}

function notAllowed(): AppError {
  return new AppError('return_to_not_allowed', 'returnTo is not an address this service may send a sign-in back to.', {
    hint: 'returnTo must be an absolute URL under one of the origins or prefixes in the connection\'s loginReturnTo, or in LOGIN_RETURN_TO_ALLOWLIST when the connection has none.',
  });
}

/** The connection's own rules (stored normalised, so they always read), or else the service's. */
function rulesOf(connection: ConnectionRecord, fallback: readonly ReturnToRule[]): readonly ReturnToRule[] {
  if (!connection.loginReturnTo) return fallback;
  return connection.loginReturnTo.flatMap((raw) => {
    const read = readReturnToRule(raw);
    return 'rule' in read ? [read.rule] : [];
  });
}

export class SignIn {
  private readonly now: () => Date;

  constructor(private readonly deps: SignInDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private returnTo(connection: ConnectionRecord, raw: string): URL {
    const rules = rulesOf(connection, this.deps.allowlist);
    if (rules.length === 0) throw disabled();
    const url = allowedReturnTo(rules, raw);
    if (!url) throw notAllowed();
    return url;
  }

  /** GET /v1/connections/{id}/login: the Microsoft authorize URL to redirect the browser to, and its binding. */
  async start(connectionId: string, returnTo: string): Promise<SignInStart> {
    const { connection, credential } = await this.deps.connections.credentials(connectionId);
    const target = this.returnTo(connection, returnTo);
    await this.deps.admitStart?.();
    const state = newSecret();
    const { binding, digest } = newBinding(state);
    const location = await startAuthorization({ ...this.deps, now: this.now }, appCredentials(connection, credential), {
      record: { flow: 'sign_in', connectionId, returnTo: target.toString(), browserBinding: digest },
      scopes: SIGN_IN_SCOPES,
      state,
    });
    return { location, binding };
  }

  /** Finishes a sign-in (the callback took its state): the returnTo URL carrying a fresh login code. */
  async complete(record: SignInState, code: string): Promise<string> {
    const { connection, credential } = await this.deps.connections.credentials(record.connectionId);
    // The allow-list may have changed (or differ in this process) since the start.
    const target = this.returnTo(connection, record.returnTo);
    const app = appCredentials(connection, credential);
    const result = await this.deps.msal.redeemCode(app, undefined, {
      redirectUri: this.deps.redirectUri,
      scopes: SIGN_IN_SCOPES,
      code,
      codeVerifier: record.verifier,
      nonce: record.nonce,
    });
    if (!result.idToken) throw new AppError('identity_platform_bad_response', 'The token response carries no ID token.');
    const id = await this.deps.verifier.verify({ idToken: result.idToken, authority: app.authority, clientId: app.clientId, nonce: record.nonce });
    const claims: LoginClaims = {
      oid: id.oid, tid: id.tid, email: id.email, name: id.name, preferredUsername: id.preferredUsername,
      connectionId: connection.id, tenantId: id.tid,
    };
    const loginCode = newSecret();
    await this.deps.codes.put(loginCode, claims);
    return withLoginCode(target.toString(), loginCode);
  }

  /** POST /v1/login/exchange: the verified claims, once. */
  async exchange(code: string): Promise<LoginClaims> {
    const claims = SECRET_PATTERN.test(code) ? await this.deps.codes.take(code) : undefined;
    // A code stored before codes named their connection (60 s around an upgrade) is refused as used.
    if (!claims || typeof claims.connectionId !== 'string') {
      throw new AppError('login_code_invalid', 'This login code is unknown, expired (codes live 60 seconds) or already used.', {
        hint: 'Exchange the code as soon as the browser arrives at returnTo, once; on failure send the user through the sign-in again.',
      });
    }
    return claims;
  }
}
