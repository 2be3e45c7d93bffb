/**
 * Renders the OpenAPI document from the route schemas, for `npm run openapi`
 * and the staleness test: the app built as the service builds it (the
 * container, then buildApp), without touching Redis (connections are lazy).
 */
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { createDependencies } from '../src/container.js';
import { createLogger } from '../src/logging/logger.js';

export async function renderOpenApiDocument(): Promise<string> {
  const config = loadConfig({ API_KEYS: 'openapi-render-key-0000', SANDBOX: 'true', LOG_LEVEL: 'silent' });
  const deps = createDependencies(config, createLogger({ level: 'silent' }));
  const app = await buildApp(deps);
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
    await deps.close();
  }
}
