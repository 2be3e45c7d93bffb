/**
 * A second service process for token tests: builds the real dependency graph
 * from the environment, waits for "go" on stdin, asks for COUNT app-only
 * tokens at once, and prints what it got (token digests, never tokens).
 */
import { createHash } from 'node:crypto';
import { loadConfig } from '../../src/config/config.js';
import { createDependencies } from '../../src/container.js';
import { createLogger } from '../../src/logging/logger.js';

const config = loadConfig(process.env);
const deps = createDependencies(config, createLogger({ level: 'silent' }));
await deps.redis.connect();
const count = Number(process.env.COUNT ?? '1');
const connectionId = process.env.CONNECTION_ID ?? '';
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const results = await Promise.all(
  Array.from({ length: count }, () => deps.services.tokens.appToken(connectionId)),
);
process.stdout.write(`${JSON.stringify(results.map((r) => ({
  digest: createHash('sha256').update(r.accessToken).digest('hex').slice(0, 16),
  fromCache: r.fromCache,
})))}\n`);
await deps.close();
process.exit(0);
