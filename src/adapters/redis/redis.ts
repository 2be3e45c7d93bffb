/**
 * The ioredis adapter: the only module that creates Redis connections.
 *
 * Two kinds: `command` connections for the API and stores fail a command
 * quickly when Redis is down (so a request gets a 503 rather than hanging);
 * `queue` connections for BullMQ retry forever, as BullMQ requires
 * (`maxRetriesPerRequest: null`).
 *
 * Three deployments (see config/redis-config.ts): one server (a URL), a Redis
 * Cluster (an ioredis `Cluster`, each node connection made with the same
 * per-connection settings through `redisOptions`), or Sentinel (a `Redis`
 * that asks the sentinels where the master is).
 */
import { Cluster, Redis as IORedis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConfig, RedisAuth } from '../../config/redis-config.js';

/**
 * A Redis client: one server's connection or a cluster's. Both speak the same
 * commands; the stores only send commands whose keys share one hash slot
 * (see store/keys.ts), so they work unchanged on either.
 */
export type Redis = IORedis | Cluster;

export type RedisKind = 'command' | 'queue';

/** Where to connect: a `redis://` URL (one server), or the whole Redis config. */
export type RedisTarget = string | Pick<RedisConfig, 'url' | 'cluster' | 'sentinel'>;

export function redisOptions(kind: RedisKind, name: string): RedisOptions {
  const common: RedisOptions = {
    connectionName: `mailsync:${name}`,
    connectTimeout: 5_000,
    // Reconnect quickly at first, then every 2 s at most.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    lazyConnect: true,
  };
  return kind === 'queue'
    ? { ...common, maxRetriesPerRequest: null, enableReadyCheck: false }
    // Commands issued in one tick share one write (and one read): under load, the API's
    // accepts and lookups cost a fraction of the system calls.
    : { ...common, maxRetriesPerRequest: 1, commandTimeout: 5_000, enableAutoPipelining: true };
}

function authOptions(auth: RedisAuth): RedisOptions {
  return {
    ...(auth.username ? { username: auth.username } : {}),
    ...(auth.password ? { password: auth.password } : {}),
    ...(auth.tls ? { tls: {} } : {}),
  };
}

/** The options of a Cluster: the cluster's own, and the per-node connection settings under `redisOptions`. */
export function clusterOptions(kind: RedisKind, name: string, auth: RedisAuth): ClusterOptions {
  // The cluster keeps its own retry (clusterRetryStrategy) and offline queue; a node takes the rest.
  const { retryStrategy, lazyConnect, enableReadyCheck: _ready, enableAutoPipelining, ...perNode } = redisOptions(kind, name);
  return {
    lazyConnect,
    ...(enableAutoPipelining ? { enableAutoPipelining } : {}),
    clusterRetryStrategy: retryStrategy,
    // A node that restarts without a slot change (a replica, a brief outage) is reconnected.
    clusterNodeRetryStrategy: retryStrategy,
    // MOVED during a resharding or a failover: follow it rather than fail the command.
    maxRedirections: 16,
    // A master that dies is retried by clusterNodeRetryStrategy forever and sends no MOVED: without
    // reading the slot map again, its slots would stay on the dead node after its replica took over
    // (seen in test/cluster/poll-shards.test.ts: a poll shard's mailboxes were never polled again).
    slotsRefreshInterval: 5_000,
    redisOptions: { ...perNode, ...authOptions(auth) },
  };
}

/** A one-server connection, a Cluster, or a Sentinel-managed connection, as the target says. */
export function createRedis(target: RedisTarget, kind: RedisKind, name: string): Redis {
  if (typeof target === 'string') return new IORedis(target, redisOptions(kind, name));
  if (target.cluster) {
    return new Cluster(target.cluster.nodes.map((n) => ({ host: n.host, port: n.port })), clusterOptions(kind, name, target.cluster.auth));
  }
  if (target.sentinel) return new IORedis(sentinelOptions(kind, name, target.sentinel));
  return new IORedis(target.url, redisOptions(kind, name));
}

/** Options of a Sentinel-managed connection: plain options, so BullMQ can take them as they are. */
export function sentinelOptions(kind: RedisKind, name: string, sentinel: NonNullable<RedisConfig['sentinel']>): RedisOptions {
  return {
    ...redisOptions(kind, name),
    ...authOptions(sentinel.auth),
    sentinels: sentinel.sentinels.map((n) => ({ host: n.host, port: n.port })),
    name: sentinel.name,
    ...(sentinel.sentinelPassword ? { sentinelPassword: sentinel.sentinelPassword } : {}),
    ...(sentinel.auth.tls ? { enableTLSForSentinelMode: true } : {}),
  };
}

export function isCluster(redis: Redis): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true;
}

/** Closes a connection politely, or drops it when Redis does not answer. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([
      redis.quit(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('quit timed out')), 1_000).unref()),
    ]);
  } catch {
    redis.disconnect();
  }
}
