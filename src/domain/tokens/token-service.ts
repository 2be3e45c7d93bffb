/**
 * Access tokens for IMAP and SMTP, for app-only and delegated connections.
 *
 * - App-only: one token per (authority, client, tenant), shared by every
 *   mailbox of that tenant and by every process through MSAL's Redis-backed
 *   cache. A multi-tenant app-only connection (no tenantId) has no tenant of
 *   its own: each mailbox names its customer's tenant, and each tenant gets
 *   its own authority (`<host>/<tenant>`: client credentials refuse
 *   `organizations`), partition and single flight.
 * - Delegated: one cache partition per mailbox, holding the user's refresh token.
 * - A process keeps tokens in memory until five minutes before expiry (the
 *   margin MSAL itself uses), so a poll costs no Redis round trip for its token:
 *   a token in memory is answered before the connection is read (its partition
 *   is known: a delegated one is the mailbox's; an app-only one is remembered per
 *   connection and tenant, from facts a connection never changes: its authority
 *   host, tenant and client id). Only a miss reads the connection, decrypts its
 *   credential and asks MSAL, whose cache (encrypted in Redis) stays the source.
 * - Acquisitions are single-flight per partition, across processes: N workers
 *   needing a token at once cause one request to Microsoft.
 */
import { createHash } from 'node:crypto';
import type { MsalGateway, TokenResult } from '../../adapters/msal/gateway.js';
import { AppError } from '../../errors/errors.js';
import { classify } from '../../errors/classify.js';
import type { Metrics } from '../../observability/metrics.js';
import type { KeySpace } from '../../store/keys.js';
import type { ConnectionRecord } from '../connections/service.js';
import { appCredentials } from '../connections/credentials.js';
import type { ClientCredential } from '../connections/client-credential.js';
import { authorityOf } from '../connections/validate.js';
import { APP_ONLY_SCOPE, DELEGATED_SCOPES, readClaims, type TokenClaims } from './claims.js';
import type { SingleFlight } from './single-flight.js';

/** MSAL renews a cached token this long before it expires; so do we. */
export const RENEWAL_MARGIN_MS = 5 * 60 * 1000;
const MEMORY_ENTRIES_MAX = 20_000;

export interface AccessToken {
  accessToken: string;
  expiresAt: Date;
  claims: TokenClaims;
  fromCache: boolean;
}

export interface DelegatedAccount {
  homeAccountId: string;
}

export interface TokenServiceDeps {
  gateway: MsalGateway;
  singleFlight: SingleFlight;
  keys: KeySpace;
  /** The connection and its decrypted credential. */
  credentials(connectionId: string): Promise<{ connection: ConnectionRecord; credential: ClientCredential }>;
  metrics?: Pick<Metrics, 'tokenRequests'>;
  now?: () => number;
}

export function appPartition(connection: Pick<ConnectionRecord, 'authorityHost' | 'tenantId' | 'clientId'>): string {
  // A single-tenant connection's key is unchanged; a customer tenant's is the same formula with its tenant.
  const authority = authorityOf({ authorityHost: connection.authorityHost, tenantId: connection.tenantId });
  return `app:${createHash('sha256').update(`${authority}\n${connection.clientId.toLowerCase()}`).digest('base64url').slice(0, 24)}`;
}

/**
 * The tenant whose token an app-only request needs: a single-tenant connection's own (a mailbox
 * of it may only name that one, see mailboxes/tenant.ts), else the customer tenant asked for.
 */
export function appTenant(connection: Pick<ConnectionRecord, 'id' | 'tenantId'>, asked: string | null | undefined): string {
  if (connection.tenantId) return connection.tenantId;
  if (asked) return asked;
  throw new AppError('tenant_required', `Connection ${connection.id} is multi-tenant: an app-only token is for one customer tenant, and none was named.`, {
    hint: "Name the customer's tenant: tenantId on the mailbox, or ?tenant=<tenant id or domain> on verify.",
    step: 'tenant_and_client_id',
  });
}

export const mailboxPartition = (mailboxId: string): string => `mbx:${mailboxId}`;

export class TokenService {
  private readonly memory = new Map<string, AccessToken>();
  /**
   * The app-only partition of a connection and the tenant asked for (`<connection id>\n<tenant>`):
   * made from the connection's authority host, tenant and client id, which no update changes
   * (a credential rotation keeps them, and the tokens: see ConnectionService.update).
   */
  private readonly appPartitions = new Map<string, string>();
  private readonly now: () => number;

  constructor(private readonly deps: TokenServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  private remember(partition: string, token: AccessToken): AccessToken {
    remember(this.memory, partition, token);
    return token;
  }

  /** A token this process holds with more than the renewal margin to live, counted as a hit; undefined otherwise. */
  private fromMemory(partition: string | undefined): AccessToken | undefined {
    const cached = partition === undefined ? undefined : this.fresh(partition);
    if (!cached) return undefined;
    this.count('hit');
    return { ...cached, fromCache: true };
  }

  private fresh(partition: string): AccessToken | undefined {
    const token = this.memory.get(partition);
    if (token && token.expiresAt.getTime() - this.now() > RENEWAL_MARGIN_MS) return token;
    return undefined;
  }

  /** Forgets a token this process holds (after Exchange refused it), so the next call asks MSAL again. */
  forget(partition: string): void {
    this.memory.delete(partition);
  }

  private count(result: 'hit' | 'miss' | 'error', code = ''): void {
    this.deps.metrics?.tokenRequests.inc({ result, code });
  }

  /** Asks MSAL (its Redis cache first, then Microsoft) and remembers the answer. */
  private async fetch(partition: string, fetch: () => Promise<TokenResult>): Promise<AccessToken> {
    let result: TokenResult;
    try {
      result = await fetch();
    } catch (err) {
      this.count('error', classify(err).code);
      throw err;
    }
    this.count(result.fromCache ? 'hit' : 'miss');
    return this.remember(partition, {
      accessToken: result.accessToken,
      expiresAt: result.expiresOn,
      claims: readClaims(result.accessToken),
      fromCache: result.fromCache,
    });
  }

  private async acquire(partition: string, fetch: () => Promise<TokenResult>): Promise<AccessToken> {
    const cached = this.fromMemory(partition);
    if (cached) return cached;
    return this.deps.singleFlight.run(this.deps.keys.tokenLock(partition), async () => this.fresh(partition) ?? this.fetch(partition, fetch));
  }

  /**
   * The connection's app-only token for a tenant: the connection's own, or for a multi-tenant
   * connection (no tenantId) the `tenantId` given (a mailbox's customer tenant). `fresh` skips
   * every cache: the doctor's "acquire now".
   */
  async appToken(connectionId: string, options: { fresh?: boolean; tenantId?: string | null } = {}): Promise<AccessToken> {
    const known = `${connectionId}\n${options.tenantId ?? ''}`;
    if (!options.fresh) {
      const cached = this.fromMemory(this.appPartitions.get(known));
      if (cached) return cached;
    }
    const { connection, credential } = await this.deps.credentials(connectionId);
    if (connection.flow !== 'app_only') {
      throw new AppError('conflict', `Connection ${connectionId} is delegated: its tokens belong to signed-in mailboxes.`);
    }
    const tenantId = appTenant(connection, options.tenantId);
    const partition = appPartition({ ...connection, tenantId });
    remember(this.appPartitions, known, partition);
    const app = { ...appCredentials(connection, credential), authority: authorityOf({ authorityHost: connection.authorityHost, tenantId }) };
    if (options.fresh) return this.fetch(partition, () => this.deps.gateway.clientCredentials(app, partition, [APP_ONLY_SCOPE], true));
    return this.acquire(partition, () => this.deps.gateway.clientCredentials(app, partition, [APP_ONLY_SCOPE]));
  }

  /** A signed-in mailbox's delegated token, refreshed with its stored refresh token when needed. */
  async delegatedToken(connectionId: string, mailboxId: string, account: DelegatedAccount | undefined, options: { forceRefresh?: boolean } = {}): Promise<AccessToken> {
    if (!account) {
      throw new AppError('not_authorized', `Mailbox ${mailboxId} has not been signed in yet.`, {
        hint: 'Sign in as the mailbox user: POST /v1/mailboxes/{id}/authorize and open the URL in a private browser window.',
        step: 'user_sign_in',
      });
    }
    const partition = mailboxPartition(mailboxId);
    if (options.forceRefresh) this.forget(partition);
    else {
      const cached = this.fromMemory(partition);
      if (cached) return cached;
    }
    const { connection, credential } = await this.deps.credentials(connectionId);
    return this.acquire(partition, () =>
      this.deps.gateway.silent(appCredentials(connection, credential), partition, account.homeAccountId, DELEGATED_SCOPES, options.forceRefresh),
    );
  }
}

/** Sets `key` in a map kept under MEMORY_ENTRIES_MAX entries: the oldest set goes first. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= MEMORY_ENTRIES_MAX) map.delete(map.keys().next().value as string);
  map.set(key, value);
}
