/**
 * The process entry: configuration from the environment, then the service,
 * then signal handling. A configuration error stops the start with one line
 * naming the variable (exit code 78, EX_CONFIG), and no stack trace.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Env } from './config/config.js';
import { ConfigError } from './errors/errors.js';
import { installShutdown } from './lifecycle/shutdown.js';
import { limitWorkerHeapGrowth } from './lifecycle/worker-heap.js';
import { createLogger } from './logging/logger.js';
import { startService } from './server.js';

export const EXIT_CONFIG = 78;

/** A configuration error (from the environment, or a file it names, read at start): one line, exit 78. */
function exitOnConfigError(err: unknown): void {
  if (!(err instanceof ConfigError)) return;
  process.stderr.write(`mailsync: configuration error: ${err.message}\n`);
  process.exit(EXIT_CONFIG);
}

export async function main(env: Env): Promise<void> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  // Before the workers hold their sessions: a worker's heap grows by a bounded factor (lifecycle/worker-heap.ts).
  if (config.role !== 'api') limitWorkerHeapGrowth();
  try {
    const service = await startService(config, logger);
    installShutdown({ close: service.close, timeoutMs: config.shutdownTimeoutMs, logger });
  } catch (err) {
    exitOnConfigError(err);
    logger.fatal({ err }, 'start failed');
    process.exit(1);
  }
}

function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) void main(process.env);
