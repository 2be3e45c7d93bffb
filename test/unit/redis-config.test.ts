/** The Redis deployment settings: one server, a cluster or Sentinel, and the clear refusals. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors/errors.js';
import { clusterOptions } from '../../src/adapters/redis/redis.js';

const base = { API_KEYS: 'k'.repeat(24), ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('Redis configuration', () => {
  it('defaults to one server', () => {
    const { redis } = loadConfig(base);
    expect(redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'mailsync', cluster: undefined, sentinel: undefined });
  });

  it('reads cluster seeds, with credentials and TLS for every node', () => {
    const { redis } = loadConfig({ ...base, REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-2.internal:7001,[::1]:7002 ', REDIS_PASSWORD: 'pw', REDIS_TLS: 'true' });
    expect(redis.cluster).toEqual({
      nodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-2.internal', port: 7001 }, { host: '::1', port: 7002 }],
      auth: { username: undefined, password: 'pw', tls: true },
    });
    expect(redis.sentinel).toBeUndefined();
  });

  it('reads sentinels and the master name', () => {
    const { redis } = loadConfig({ ...base, REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'spw' });
    expect(redis.sentinel).toEqual({
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], name: 'mymaster', sentinelPassword: 'spw',
      auth: { username: undefined, password: undefined, tls: false },
    });
  });

  it.each([
    [{ REDIS_CLUSTER_NODES: 'redis://a:7000' }, 'REDIS_CLUSTER_NODES must be comma-separated host:port (like 10.0.0.1:6379,10.0.0.2:6379), got "redis://a:7000"'],
    [{ REDIS_CLUSTER_NODES: 'a:70000' }, 'REDIS_CLUSTER_NODES must be comma-separated host:port'],
    [{ REDIS_CLUSTER_NODES: ',' }, 'REDIS_CLUSTER_NODES must list one or more host:port'],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://b:6379' }, 'REDIS_CLUSTER_NODES and REDIS_URL exclude each other: set one'],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_CLUSTER_NODES and REDIS_SENTINELS exclude each other'],
    [{ REDIS_SENTINELS: 's:26379' }, 'REDIS_SENTINEL_NAME is required with REDIS_SENTINELS'],
    [{ REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS is required with REDIS_SENTINEL_NAME'],
    [{ REDIS_PASSWORD: 'pw' }, 'REDIS_PASSWORD applies to REDIS_CLUSTER_NODES or REDIS_SENTINELS only: with one server, put credentials and TLS (rediss://) in REDIS_URL'],
    [{ REDIS_TLS: 'maybe', REDIS_CLUSTER_NODES: 'a:1' }, 'REDIS_TLS must be true or false'],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_SENTINEL_PASSWORD: 'x' }, 'REDIS_SENTINEL_PASSWORD applies to REDIS_SENTINELS only'],
  ])('refuses %j', (env, message) => {
    expect(errorOf(env)).toContain(message);
  });

  it('gives a cluster the per-node settings under redisOptions, and BullMQ its maxRetriesPerRequest: null', () => {
    const auth = { username: 'u', password: 'p', tls: true };
    const queue = clusterOptions('queue', 'worker:queues', auth);
    expect(queue.redisOptions).toMatchObject({ maxRetriesPerRequest: null, connectionName: 'mailsync:worker:queues', username: 'u', password: 'p', tls: {} });
    expect(queue.lazyConnect).toBe(true);
    expect(typeof queue.clusterRetryStrategy).toBe('function');
    const command = clusterOptions('command', 'api:command', auth);
    expect(command.redisOptions).toMatchObject({ maxRetriesPerRequest: 1, commandTimeout: 5_000 });
    expect(command.redisOptions).not.toHaveProperty('retryStrategy');
  });
});
