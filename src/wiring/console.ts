/**
 * The console capability: the static files of the operator's console
 * (console/ at the repository's root, copied beside dist/ in the image)
 * served at /console. It has no services, jobs or checks of its own: the
 * page calls the /v1 API like any other client. Creating it opens nothing;
 * the files are read when the routes register.
 */
import { fileURLToPath } from 'node:url';
import { loadConsoleAssets } from '../http/console/assets.js';
import { consoleRoutes } from '../http/routes/console.js';
import { nothingToClose, type Capability } from './capability.js';

/** console/ beside src/ (from source) or beside dist/ (built): two levels above this module either way. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

export function createConsole(dir: string = CONSOLE_DIR): Capability<Record<string, never>> {
  return {
    name: 'console',
    services: {},
    routes: { root: consoleRoutes(() => loadConsoleAssets(dir)) },
    readiness: [],
    close: nothingToClose,
  };
}
