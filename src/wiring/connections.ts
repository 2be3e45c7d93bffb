/**
 * The connections-and-tokens capability: the Entra app registrations
 * (ConnectionService), MSAL with its network client and encrypted token
 * cache, the token service, and the /v1/connections routes (verify
 * included). Creating it opens nothing; close() ends the MSAL network client.
 */
import { MsalGateway } from '../adapters/msal/gateway.js';
import { createMsalNetworkClient, type MsalNetworkClient } from '../adapters/msal/network-client.js';
import type { Redis } from '../adapters/redis/redis.js';
import type { Config } from '../config/config.js';
import type { Cipher } from '../crypto/envelope.js';
import { ConnectionService, type ConnectionRecord } from '../domain/connections/service.js';
import { verifyConnection } from '../domain/doctor/verify-connection.js';
import { SingleFlight } from '../domain/tokens/single-flight.js';
import { TokenService } from '../domain/tokens/token-service.js';
import { connectionRoutes } from '../http/routes/connections.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { JsonStore } from '../store/json-store.js';
import type { KeySpace } from '../store/keys.js';
import { RedisLock } from '../store/lock.js';
import { TokenCacheStore } from '../store/token-cache-store.js';
import type { Capability } from './capability.js';
import type { EventPublisher } from '../domain/events/events.js';
import { CredentialWarnings } from '../domain/connections/credential-expiry.js';
import { credentialExpiryJobs } from '../jobs/connections/credential-expiry.js';
import { registerCredentialExpiryGauge } from '../observability/credential-expiry-gauge.js';
import { RedisWarningClaims } from '../store/warning-claims.js';

export interface ConnectionsDeps {
  config: Pick<Config, 'outbound' | 'connections'>;
  redis: Redis;
  keys: KeySpace;
  cipher: Cipher;
  metrics: Metrics;
  logger: Logger;
  /** The extra CAs (NODE_EXTRA_CA_CERTS), read once (config/trust.ts). */
  extraCa: string[];
  /** How many mailboxes use a connection (a connection in use is not deleted); the mailboxes capability answers. */
  mailboxesUsing: (connectionId: string) => Promise<number>;
  /** Announces connection.credential_expiring (the webhooks capability's publisher). */
  events: EventPublisher;
}

export interface Connections {
  connections: ConnectionService;
  tokens: TokenService;
  msal: MsalGateway;
  network: MsalNetworkClient;
  tokenCache: TokenCacheStore;
}

export function createConnections(deps: ConnectionsDeps): Capability<Connections> {
  const { config, redis, keys, cipher } = deps;
  const connections = new ConnectionService({
    store: new JsonStore<ConnectionRecord>({ redis, recordKey: keys.connection, indexKey: keys.connections }),
    cipher,
    mailboxesUsing: deps.mailboxesUsing,
    authorityHosts: config.outbound.authorityHosts,
    federatedTokenFile: config.outbound.federatedTokenFile,
  });
  const network = createMsalNetworkClient({
    caPem: deps.extraCa,
    ...(config.outbound.httpsProxy ? { proxyUrl: config.outbound.httpsProxy.href } : {}),
  });
  const tokenCache = new TokenCacheStore(redis, keys, cipher);
  const msal = new MsalGateway(network, tokenCache, deps.logger);
  const tokens = new TokenService({
    gateway: msal,
    keys,
    singleFlight: new SingleFlight({ lock: new RedisLock(redis), lockTtlMs: 30_000, maxWaitMs: 35_000 }),
    credentials: (connectionId) => connections.credentials(connectionId),
    metrics: deps.metrics,
  });
  const warnings = new CredentialWarnings({
    connections,
    claims: new RedisWarningClaims(redis, keys),
    events: deps.events,
    logger: deps.logger.child({ module: 'connections' }),
  });
  registerCredentialExpiryGauge(deps.metrics, () => connections.expiries());
  return {
    name: 'connections',
    services: { connections, tokens, msal, network, tokenCache },
    jobs: credentialExpiryJobs({ warnings, everyMs: config.connections.expiryCheckMs, logger: deps.logger }),
    routes: { api: connectionRoutes(connections, (id, tenant) => verifyConnection({ connections, tokens, msal }, id, tenant)) },
    readiness: [],
    close: () => network.close(),
  };
}
