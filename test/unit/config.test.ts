import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors/errors.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base = { API_KEYS: 'k'.repeat(24), ENCRYPTION_KEY: KEY };

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults and freezes the result', () => {
    const config = loadConfig(base);
    expect(config.role).toBe('all');
    expect(config.port).toBe(3000);
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.polling.minIntervalSeconds).toBe(30);
    expect(config.webhooks.allowPrivateNetworks).toBe(false);
    expect(config.encryption.key.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ ROLE: 'both' }, 'ROLE', 'must be one of all, api, worker'],
    [{ PORT: '70000' }, 'PORT', 'whole number from 0 to 65535'],
    [{ PORT: '80a' }, 'PORT', 'whole number'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL', 'redis or rediss'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL', 'must be a URL'],
    [{ ENCRYPTION_KEY: 'abc' }, 'ENCRYPTION_KEY', '32 bytes'],
    [{ ENCRYPTION_KEY: 'not base64!' }, 'ENCRYPTION_KEY', 'base64'],
    [{ ENCRYPTION_KEY_PREVIOUS: `${KEY},short` }, 'ENCRYPTION_KEY_PREVIOUS', '32 bytes'],
    [{ API_KEYS: 'short' }, 'API_KEYS', 'at least 16 characters'],
    [{ API_KEYS: 'send:short' }, 'API_KEYS', 'at least 16 characters'],
    [{ API_KEYS: `sned:${'k'.repeat(24)}` }, 'API_KEYS', 'unknown scope "sned"'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', 'must be one of'],
    [{ POLL_MIN_INTERVAL_SECONDS: '0' }, 'POLL_MIN_INTERVAL_SECONDS', 'from 1'],
    [{ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe' }, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'true or false'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL', 'http or https'],
    [{ REDIS_PREFIX: '{bad}' }, 'REDIS_PREFIX', 'letters, digits'],
  ])('names the variable for %j', (override, variable, expected) => {
    const err = errorOf({ ...base, ...override });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable} `)).toBe(true);
    expect(err.message).toContain(expected);
  });

  it('requires ENCRYPTION_KEY outside the sandbox', () => {
    expect(errorOf({ API_KEYS: base.API_KEYS }).variable).toBe('ENCRYPTION_KEY');
  });

  it('makes an ephemeral key in the sandbox when none is given', () => {
    const config = loadConfig({ API_KEYS: base.API_KEYS, SANDBOX: 'true' });
    expect(config.encryption.ephemeral).toBe(true);
    expect(config.encryption.key).toHaveLength(32);
  });

  it('requires API_KEYS for roles that serve HTTP, not for workers', () => {
    expect(errorOf({ ENCRYPTION_KEY: KEY }).variable).toBe('API_KEYS');
    expect(loadConfig({ ENCRYPTION_KEY: KEY, ROLE: 'worker' }).apiKeys).toEqual([]);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...base, PORT: '' }).port).toBe(3000);
  });
});
