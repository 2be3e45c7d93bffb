/**
 * Where Redis is, read from the environment like the rest of the config (see
 * config.ts). Three deployments, one of them at a time:
 *
 * - one server: `REDIS_URL` (credentials, TLS and database in the URL);
 * - Redis Cluster: `REDIS_CLUSTER_NODES`, comma-separated `host:port` seeds
 *   (a few are enough: the client learns the rest from the cluster);
 * - Redis Sentinel: `REDIS_SENTINELS` (`host:port` of the sentinels) and
 *   `REDIS_SENTINEL_NAME` (the master group's name).
 *
 * A list of seeds is not a URL (`new URL` takes one host), so cluster and
 * sentinel modes take credentials and TLS from `REDIS_USERNAME`,
 * `REDIS_PASSWORD`, `REDIS_TLS` (and `REDIS_SENTINEL_PASSWORD` for the
 * sentinels themselves). With one server those go in `REDIS_URL` instead and
 * setting them is an error: a password that is silently ignored is worse
 * than a refusal.
 */
import { ConfigError } from '../errors/errors.js';
import { EnvValueError, parseBoolean, parseString, parseUrl } from './env-spec.js';

export interface RedisNode {
  host: string;
  port: number;
}

/** Credentials and TLS of the data nodes, in cluster and sentinel modes. */
export interface RedisAuth {
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
}

export interface RedisConfig {
  /** The one server (REDIS_URL), or in cluster/sentinel mode the default `redis://127.0.0.1:6379`, unused. */
  url: string;
  /** REDIS_PREFIX: the prefix of every key (the key space adds the hash tags). @defaultValue mailsync */
  prefix: string;
  /** REDIS_CLUSTER_NODES: set in cluster mode. */
  cluster: { nodes: readonly RedisNode[]; auth: RedisAuth } | undefined;
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME: set in sentinel mode. */
  sentinel: { sentinels: readonly RedisNode[]; name: string; sentinelPassword: string | undefined; auth: RedisAuth } | undefined;
}

type Read = <T>(name: string, parse: (raw: string) => T) => T | undefined;

const DEFAULT_URL = 'redis://127.0.0.1:6379';

export function loadRedisConfig(read: Read): RedisConfig {
  const url = read('REDIS_URL', parseUrl(['redis', 'rediss']));
  const prefix = read('REDIS_PREFIX', parseRedisPrefix) ?? 'mailsync';
  const nodes = read('REDIS_CLUSTER_NODES', parseNodes);
  const sentinels = read('REDIS_SENTINELS', parseNodes);
  const sentinelName = read('REDIS_SENTINEL_NAME', parseString);
  const auth: RedisAuth = {
    username: read('REDIS_USERNAME', parseString),
    password: read('REDIS_PASSWORD', parseString),
    tls: read('REDIS_TLS', parseBoolean) ?? false,
  };
  const sentinelPassword = read('REDIS_SENTINEL_PASSWORD', parseString);

  if (nodes && sentinels) throw new ConfigError('REDIS_CLUSTER_NODES', 'and REDIS_SENTINELS exclude each other: set one');
  if ((nodes || sentinels) && url) {
    throw new ConfigError(nodes ? 'REDIS_CLUSTER_NODES' : 'REDIS_SENTINELS', 'and REDIS_URL exclude each other: set one');
  }
  if (sentinels && !sentinelName) throw new ConfigError('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS: the name of the master group the sentinels monitor');
  if (sentinelName && !sentinels) throw new ConfigError('REDIS_SENTINELS', 'is required with REDIS_SENTINEL_NAME: comma-separated host:port of the sentinels');
  if (!nodes && !sentinels) {
    const stray = auth.username ? 'REDIS_USERNAME' : auth.password ? 'REDIS_PASSWORD' : auth.tls ? 'REDIS_TLS' : sentinelPassword ? 'REDIS_SENTINEL_PASSWORD' : undefined;
    if (stray) throw new ConfigError(stray, 'applies to REDIS_CLUSTER_NODES or REDIS_SENTINELS only: with one server, put credentials and TLS (rediss://) in REDIS_URL');
  }
  if (nodes && sentinelPassword) throw new ConfigError('REDIS_SENTINEL_PASSWORD', 'applies to REDIS_SENTINELS only');

  return {
    url: (url ?? new URL(DEFAULT_URL)).href,
    prefix,
    cluster: nodes ? { nodes, auth } : undefined,
    sentinel: sentinels && sentinelName ? { sentinels, name: sentinelName, sentinelPassword, auth } : undefined,
  };
}

/** `host:port,host:port`; IPv6 hosts in brackets (`[::1]:7000`). */
export function parseNodes(raw: string): RedisNode[] {
  const items = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) throw new EnvValueError('must list one or more host:port');
  return items.map((item) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      throw new EnvValueError(`must be comma-separated host:port (like 10.0.0.1:6379,10.0.0.2:6379), got "${item}"`);
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** A Redis key prefix: letters, digits, `-`, `_`, `.`; no braces (the store adds the hash tags). */
function parseRedisPrefix(raw: string): string {
  const value = raw.trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(value)) {
    throw new EnvValueError('must be 1 to 64 letters, digits, dots, dashes or underscores');
  }
  return value;
}
