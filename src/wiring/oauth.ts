/**
 * The sign-in (OAuth) capability assembled from the shared dependencies:
 * delegated mailbox authorization, the Microsoft sign-in provider, the
 * callback both share, their one-time stores, and their routes (the API-key
 * ones, and the public ones browsers reach). Creating it opens nothing.
 */
import type { CachePartitionStore } from '../adapters/msal/cache-plugin.js';
import type { MsalGateway } from '../adapters/msal/gateway.js';
import type { MsalNetworkClient } from '../adapters/msal/network-client.js';
import { IdTokenVerifier } from '../adapters/oidc/id-token-verifier.js';
import { JwksCache } from '../adapters/oidc/jwks-cache.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { Config } from '../config/config.js';
import type { Cipher } from '../crypto/envelope.js';
import type { ConnectionService } from '../domain/connections/service.js';
import type { EventPublisher } from '../domain/events/events.js';
import type { MailboxService } from '../domain/mailboxes/service.js';
import { OAuthCallback } from '../domain/oauth/callback.js';
import { DelegatedAuthorization } from '../domain/oauth/delegated-authorization.js';
import { SignIn } from '../domain/oauth/sign-in.js';
import { AdminConsent } from '../domain/oauth/admin-consent.js';
import {
  ADMIN_CONSENT_LINK_TTL_SECONDS, LOGIN_CODE_TTL_SECONDS, STATE_TTL_SECONDS, type AdminConsentLink, type LoginClaims, type StateRecord,
} from '../domain/oauth/state-record.js';
import type { TokenService } from '../domain/tokens/token-service.js';
import type { Logger } from '../logging/logger.js';
import type { KeySpace } from '../store/keys.js';
import { signInStartBudget } from '../domain/oauth/start-budget.js';
import { OneTimeStore } from '../store/one-time-store.js';
import { RedisRateLimiter } from '../store/rate-limiter.js';
import { publicRateLimit } from '../http/plugins/public-rate-limit.js';
import { signInCookie, type SignInCookie } from '../http/sign-in-cookie.js';
import { oauthRoutes } from '../http/routes/oauth.js';
import { publicOAuthRoutes } from '../http/routes/oauth-public.js';
import { nothingToClose, type Capability } from './capability.js';

export interface OAuthDeps {
  config: Pick<Config, 'publicUrl' | 'login' | 'http'>;
  redis: Redis;
  keys: KeySpace;
  cipher: Cipher;
  msal: MsalGateway;
  network: MsalNetworkClient;
  tokenCache: CachePartitionStore & { delete(partition: string): Promise<void> };
  connections: ConnectionService;
  mailboxes: MailboxService;
  tokens: TokenService;
  /** Announces `mailbox.authorized`; optional so the capability also works without webhooks. */
  events?: EventPublisher;
  logger: Logger;
}

export interface OAuth {
  delegated: DelegatedAuthorization;
  signIn: SignIn;
  /** Admin consent links for customer tenants (POST /v1/connections/{id}/admin-consent). */
  adminConsent: AdminConsent;
  callback: OAuthCallback;
  /** The redirect URI both flows use, to register in the app registration. */
  redirectUri: string;
  /** The per-client rate limit of the two routes without an API key. */
  rateLimit: ReturnType<typeof publicRateLimit>;
  /** The cookie binding a sign-in to its browser (its name and Secure follow PUBLIC_URL's scheme). */
  signInCookie: SignInCookie;
}

/** `${PUBLIC_URL}/v1/oauth/callback`, keeping a path PUBLIC_URL may have (behind a reverse proxy). */
export function callbackUrl(publicUrl: URL): string {
  return publicPath(publicUrl, '/v1/oauth/callback');
}

function publicPath(publicUrl: URL, path: string): string {
  return `${publicUrl.origin}${publicUrl.pathname.replace(/\/+$/, '')}${path}`;
}

export function createOAuth(deps: OAuthDeps): Capability<OAuth> {
  const redirectUri = callbackUrl(deps.config.publicUrl);
  const states = new OneTimeStore<StateRecord>({
    redis: deps.redis, cipher: deps.cipher, key: deps.keys.oauthState, purpose: 'oauth-state', ttlSeconds: STATE_TTL_SECONDS,
  });
  const codes = new OneTimeStore<LoginClaims>({
    redis: deps.redis, cipher: deps.cipher, key: deps.keys.loginCode, purpose: 'login-code', ttlSeconds: LOGIN_CODE_TTL_SECONDS,
  });
  const verifier = new IdTokenVerifier({
    metadata: (authority) => deps.msal.authorityMetadata(authority),
    jwks: new JwksCache(deps.network),
  });
  const delegated = new DelegatedAuthorization({
    mailboxes: deps.mailboxes,
    connections: deps.connections,
    msal: deps.msal,
    tokens: deps.tokens,
    cache: deps.tokenCache,
    states,
    verifier,
    ...(deps.events ? { events: deps.events } : {}),
    redirectUri,
    logger: deps.logger,
  });
  const limiter = new RedisRateLimiter(deps.redis, deps.keys.rateLimit);
  const admitStart = signInStartBudget(limiter, deps.config.http.signInStartsPerMinute, deps.logger);
  const signIn = new SignIn({
    connections: deps.connections, msal: deps.msal, states, codes, verifier, allowlist: deps.config.login.returnToAllowlist, redirectUri,
    ...(admitStart ? { admitStart } : {}),
  });
  const adminConsent = new AdminConsent({
    connections: deps.connections,
    links: new OneTimeStore<AdminConsentLink>({
      redis: deps.redis, cipher: deps.cipher, key: deps.keys.adminConsentLink, purpose: 'admin-consent-link', ttlSeconds: ADMIN_CONSENT_LINK_TTL_SECONDS,
    }),
    states,
    ...(deps.events ? { events: deps.events } : {}),
    redirectUri,
    startUrl: publicPath(deps.config.publicUrl, '/v1/oauth/admin-consent'),
    logger: deps.logger,
  });
  const rateLimit = publicRateLimit(limiter, { perClientPerMinute: deps.config.http.publicRatePerMinute }, deps.logger);
  const oauth: OAuth = {
    delegated, signIn, adminConsent, callback: new OAuthCallback({ states, delegated, signIn, adminConsent }), redirectUri, rateLimit,
    signInCookie: signInCookie(deps.config.publicUrl),
  };
  return {
    name: 'sign-in',
    services: oauth,
    routes: { api: oauthRoutes(oauth), public: publicOAuthRoutes(oauth) },
    readiness: [],
    close: nothingToClose,
  };
}
