/**
 * Builds the real app, from the same container production uses, against a
 * real Redis, with a config made from the environment variables a test gives
 * and a unique key prefix per app, and captured logs.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SANDBOX_HOSTS } from '../../sandbox/index.js';
import { DEFAULT_AUTHORITY_HOSTS, DEFAULT_MAIL_HOSTS } from '../../src/config/host-allowlist.js';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createDependencies, type Dependencies } from '../../src/container.js';
import { createLogger } from '../../src/logging/logger.js';
import { captureLogs, type LogCapture } from './logs.js';

export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

export interface TestApp {
  app: FastifyInstance;
  deps: Dependencies;
  config: Config;
  logs: LogCapture;
  auth: { authorization: string };
  close(): Promise<void>;
}

export function testEnv(redisUrl: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    API_KEYS: TEST_API_KEY,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `test-${randomBytes(6).toString('hex')}`,
    LOG_LEVEL: 'info',
    POLL_MIN_INTERVAL_SECONDS: '1',
    // Tests send the public routes hundreds of requests from one address; rate-limits.test.ts sets its own.
    PUBLIC_RATE_LIMIT_PER_MINUTE: '0',
    SIGN_IN_STARTS_PER_MINUTE: '0',
    // Tests run their mail servers and identity platform on this machine.
    AUTHORITY_HOST_ALLOWLIST: [...DEFAULT_AUTHORITY_HOSTS, ...SANDBOX_HOSTS].join(','),
    MAIL_HOST_ALLOWLIST: [...DEFAULT_MAIL_HOSTS, ...SANDBOX_HOSTS].join(','),
    ...env,
  };
}

export async function buildTestApp(redisUrl: string, env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig(testEnv(redisUrl, env));
  const logs = captureLogs();
  const logger = createLogger({ level: config.logLevel }, logs.stream);
  const deps = createDependencies(config, logger);
  await deps.redis.connect();
  const app = await buildApp(deps);
  await app.ready();
  return {
    app,
    deps,
    config,
    logs,
    auth: { authorization: `Bearer ${TEST_API_KEY}` },
    close: async () => {
      await app.close();
      await deps.close();
    },
  };
}
