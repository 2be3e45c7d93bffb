/**
 * GET /console: the operator's console, static files calling the /v1 API
 * from the browser with the API key the user typed (kept in the tab's
 * session storage). The files hold no data, so they load without a key.
 *
 * Headers: a CSP that lets the page load only its own scripts and styles
 * (no inline code, no eval, Trusted Types required for every DOM sink), talk
 * only to this origin, and never be framed; no referrer. Caching:
 * `no-cache` with a strong ETag: the browser keeps a copy and revalidates
 * it, so a deploy is seen at the next load (file names carry no hash, there
 * being no build step) and an unchanged file costs a 304.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleAsset } from '../console/assets.js';

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

function serve(asset: ConsoleAsset) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-frame-options', 'DENY')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .header('etag', asset.etag);
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  };
}

export function consoleRoutes(load: () => Promise<readonly ConsoleAsset[]>) {
  return async (app: FastifyInstance): Promise<void> => {
    const assets = await load();
    const index = assets.find((a) => a.path === 'index.html')!;
    const page = serve(index);
    // The router ignores a trailing slash, so /console and /console/ are one route: the page's
    // relative URLs (./js/main.js, ../v1/…) need the slash, so a request without it is redirected.
    app.get('/console', { schema: { hide: true } }, async (request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      if (!path.endsWith('/')) return reply.header('cache-control', 'no-cache').redirect(`${path}/`, 301);
      return page(request, reply);
    });
    for (const asset of assets) {
      if (asset.path === 'index.html') continue;
      app.get(`/console/${asset.path}`, { schema: { hide: true } }, serve(asset));
    }
  };
}
