/**
 * The MSAL adapter: the only module that talks to @azure/msal-node.
 *
 * A ConfidentialClientApplication is made per call, bound to one cache
 * partition (so concurrent calls for different mailboxes cannot mix their
 * caches) and given the authority's metadata (so it makes no discovery
 * request). Every failure leaves as a typed AppError.
 */
import { AppError } from '../../errors/errors.js';
import { ConfidentialClientApplication, LogLevel, type AuthenticationResult } from '@azure/msal-node';
import type { Logger } from '../../logging/logger.js';
import { AuthorityMetadataCache, type OpenIdMetadata } from './authority-metadata.js';
import { redisCachePlugin, type CachePartitionStore } from './cache-plugin.js';
import { translateMsalError } from './errors.js';
import type { MsalNetworkClient } from './network-client.js';
import type { ClientCredential } from '../../domain/connections/client-credential.js';
import { readFederatedToken } from './federated-token.js';

export interface AppCredentials {
  authority: string;
  clientId: string;
  credential: ClientCredential;
}

/**
 * MSAL's auth options for a credential. A certificate goes with its SHA-256 thumbprint, so the
 * assertion is PS256 with `x5t#S256` (Entra's current format), and its chain as `x5c`. A federated
 * credential is a callback MSAL calls for each token request it sends (not for cache hits).
 */
function credentialOptions(credential: ClientCredential): Record<string, unknown> {
  switch (credential.type) {
    case 'secret':
      return { clientSecret: credential.clientSecret };
    case 'certificate':
      return { clientCertificate: { thumbprintSha256: credential.thumbprintSha256, privateKey: credential.privateKey, x5c: credential.x5c } };
    case 'federated':
      return { clientAssertion: () => readFederatedToken(credential.tokenFile) };
  }
}

export interface TokenResult {
  accessToken: string;
  expiresOn: Date;
  fromCache: boolean;
  idToken?: string;
  account?: { homeAccountId: string; username: string; tenantId: string; localAccountId: string };
}

export interface AuthCodeUrlRequest {
  redirectUri: string;
  scopes: string[];
  state: string;
  codeChallenge: string;
  nonce: string;
  loginHint?: string;
  prompt?: 'select_account' | 'login' | 'consent' | 'none';
}

export interface RedeemCodeRequest {
  redirectUri: string;
  scopes: string[];
  code: string;
  codeVerifier: string;
  nonce: string;
}

export class MsalGateway {
  private readonly metadata: AuthorityMetadataCache;

  constructor(
    private readonly network: MsalNetworkClient,
    private readonly cache: CachePartitionStore,
    private readonly logger: Logger,
  ) {
    this.metadata = new AuthorityMetadataCache(network);
  }

  authorityMetadata(authority: string): Promise<OpenIdMetadata> {
    return this.metadata.get(authority).catch((err: unknown) => {
      throw translateMsalError(err, this.network, authority);
    });
  }

  private async client(app: AppCredentials, partition: string | undefined): Promise<ConfidentialClientApplication> {
    const metadata = await this.authorityMetadata(app.authority);
    return new ConfidentialClientApplication({
      auth: {
        clientId: app.clientId,
        ...credentialOptions(app.credential),
        authority: app.authority,
        knownAuthorities: [new URL(app.authority).host],
        authorityMetadata: JSON.stringify(metadata),
      },
      ...(partition ? { cache: { cachePlugin: redisCachePlugin(this.cache, partition) } } : {}),
      system: {
        networkClient: this.network,
        loggerOptions: {
          logLevel: LogLevel.Warning,
          piiLoggingEnabled: false,
          // MSAL warns "No client info in response" on every client-credentials token; not news.
          loggerCallback: (level, message, containsPii) => {
            if (!containsPii && level <= LogLevel.Error) this.logger.warn({ msal: message }, 'msal');
          },
        },
      },
    });
  }

  private async run<T>(app: AppCredentials, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw translateMsalError(err, this.network, app.authority);
    }
  }

  async clientCredentials(app: AppCredentials, partition: string, scopes: string[], skipCache = false): Promise<TokenResult> {
    return this.run(app, async () => {
      const client = await this.client(app, partition);
      return toResult(await client.acquireTokenByClientCredential({ scopes, skipCache }));
    });
  }

  async authCodeUrl(app: AppCredentials, request: AuthCodeUrlRequest): Promise<string> {
    return this.run(app, async () => {
      const client = await this.client(app, undefined);
      return client.getAuthCodeUrl({
        redirectUri: request.redirectUri,
        scopes: request.scopes,
        state: request.state,
        codeChallenge: request.codeChallenge,
        codeChallengeMethod: 'S256',
        nonce: request.nonce,
        responseMode: 'query',
        ...(request.prompt ? { prompt: request.prompt } : {}),
        // MSAL drops loginHint when prompt is select_account (msal-common Authorize.ts: "AAD will throw
        // if prompt=select_account is passed with an account hint"); we want both: the account picker,
        // with the mailbox's address suggested. Sent as an extra parameter, so MSAL leaves it alone.
        ...(request.loginHint
          ? request.prompt === 'select_account'
            ? { extraQueryParameters: { login_hint: request.loginHint } }
            : { loginHint: request.loginHint }
          : {}),
      });
    });
  }

  /** Redeems an authorization code into a cache partition; without one, the tokens are not kept (sign-in only). */
  async redeemCode(app: AppCredentials, partition: string | undefined, request: RedeemCodeRequest): Promise<TokenResult> {
    return this.run(app, async () => {
      const client = await this.client(app, partition);
      return toResult(await client.acquireTokenByCode({
        code: request.code,
        codeVerifier: request.codeVerifier,
        redirectUri: request.redirectUri,
        scopes: request.scopes,
        nonce: request.nonce,
      }));
    });
  }

  /** A delegated token from the partition's cache, refreshed with its refresh token when needed. */
  async silent(app: AppCredentials, partition: string, homeAccountId: string, scopes: string[], forceRefresh = false): Promise<TokenResult> {
    return this.run(app, async () => {
      const client = await this.client(app, partition);
      const account = await client.getTokenCache().getAccountByHomeId(homeAccountId);
      if (!account) {
        throw new AppError('not_authorized', 'No sign-in is stored for this mailbox.', {
          hint: 'Sign in as the mailbox user: POST /v1/mailboxes/{id}/authorize.',
          step: 'user_sign_in',
        });
      }
      return toResult(await client.acquireTokenSilent({ account, scopes, forceRefresh }));
    });
  }
}

/** A token just received with less life than this was answered without a real expires_in. */
const MIN_FRESH_LIFETIME_MS = 5_000;

function badTokenResponse(what: string): AppError {
  return new AppError('identity_platform_bad_response', `The identity platform answered a token response ${what}.`, {
    hint: 'Check that nothing between the service and the identity platform (a proxy, a gateway) rewrites its answers.',
    step: 'network',
  });
}

function toResult(result: AuthenticationResult | null): TokenResult {
  if (!result?.accessToken) throw badTokenResponse('without an access token (access_token)');
  // MSAL reads a missing expires_in as 0: a token born expired (give or take MSAL's rounding to the
  // second), which every later use would ask for again. Entra's shortest lifetime is 10 minutes.
  if (!result.expiresOn || (!result.fromCache && result.expiresOn.getTime() - Date.now() < MIN_FRESH_LIFETIME_MS)) {
    throw badTokenResponse('without a lifetime (expires_in)');
  }
  return {
    accessToken: result.accessToken,
    expiresOn: result.expiresOn,
    fromCache: result.fromCache,
    ...(result.idToken ? { idToken: result.idToken } : {}),
    ...(result.account
      ? {
          account: {
            homeAccountId: result.account.homeAccountId,
            username: result.account.username,
            tenantId: result.account.tenantId,
            localAccountId: result.account.localAccountId,
          },
        }
      : {}),
  };
}
