/**
 * The console's static files (console/ in the repository, /app/console in
 * the image), read once when the routes register: HTML, JavaScript modules,
 * CSS and images, each with its content type and a strong ETag. Only files
 * found at start are ever served, each on a route of its own, so no request
 * path reaches the file system (no traversal to guard against).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

export interface ConsoleAsset {
  /** The path below /console/: `index.html`, `js/main.js`. */
  readonly path: string;
  readonly type: string;
  readonly body: Buffer;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Every servable file below `dir`; other kinds (a README, an editor's backup) are left out. */
export async function loadConsoleAssets(dir: string): Promise<ConsoleAsset[]> {
  const files = await filesBelow(dir).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`the console's files are missing at ${dir} (${err.code ?? err.message}): copy console/ beside dist/`, { cause: err });
  });
  const assets: ConsoleAsset[] = [];
  for (const file of files.sort()) {
    const type = TYPES[extname(file).toLowerCase()];
    if (!type) continue;
    const body = await readFile(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.push({ path: relative(dir, file).split(sep).join('/'), type, body, etag });
  }
  if (!assets.some((a) => a.path === 'index.html')) throw new Error(`the console has no index.html in ${dir}`);
  return assets;
}
