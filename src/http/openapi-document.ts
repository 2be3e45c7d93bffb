/**
 * Renders the OpenAPI document from the route schemas, without touching
 * Redis (connections are lazy), for `npm run openapi` and the staleness test.
 */
import { buildApp } from '../app.js';
import { loadConfig } from '../config/config.js';
import { createDependencies } from '../container.js';
import { createLogger } from '../logging/logger.js';

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
