/**
 * Every registered route answers 401 without an API key, except an explicit
 * allowlist. The route list comes from the app itself (test/support/route-list.ts),
 * so a route added later is covered without touching this file, and a route
 * added outside the /v1 API-key scope by mistake fails here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HTTPMethods } from 'fastify';
import { buildTestApp, TEST_API_KEY } from '../support/app.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { concreteUrl, openApiPath, registeredRoutes, unparsedRouteLines, type RegisteredRoute } from '../support/route-list.js';

/**
 * Routes reachable without a key, and why. Patterns are Fastify's; a trailing
 * `*` covers everything below. /metrics is public unless METRICS_REQUIRE_API_KEY.
 */
const PUBLIC: readonly { pattern: string; why: string }[] = [
  { pattern: '/health/live', why: 'orchestrator liveness probe' },
  { pattern: '/health/ready', why: 'orchestrator readiness probe' },
  { pattern: '/docs*', why: 'Swagger UI: the document holds no data' },
  { pattern: '/openapi.json', why: 'the API description' },
  { pattern: '/metrics', why: 'Prometheus scrape (METRICS_REQUIRE_API_KEY=true guards it)' },
  { pattern: '/v1/oauth/callback', why: "Microsoft's redirect back to the browser" },
  { pattern: '/v1/connections/:id/login', why: 'the browser starts "Sign in with Microsoft" here' },
  { pattern: '/console*', why: "the console's static files: they hold no data, the page calls /v1 with the key the user types" },
  { pattern: '/v1/oauth/admin-consent', why: "a tenant administrator's browser opens an admin consent link here" },
];

const isPublic = (url: string, allow = PUBLIC): boolean =>
  allow.some(({ pattern }) => (pattern.endsWith('*') ? url.startsWith(pattern.slice(0, -1)) : url === pattern));

/** Requests that carry no usable key. None of them may get past the API-key hook. */
const KEYLESS: readonly { name: string; headers: Record<string, string | string[]>; query?: string }[] = [
  { name: 'no header', headers: {} },
  { name: 'a wrong key', headers: { authorization: 'Bearer wrong-key-0123456789abcdef' } },
  { name: 'the key under another scheme', headers: { authorization: `Basic ${TEST_API_KEY}` } },
  { name: 'the key without a scheme', headers: { authorization: TEST_API_KEY } },
  { name: 'the key with a suffix', headers: { authorization: `Bearer ${TEST_API_KEY}x` } },
  { name: 'the key in the query string', headers: {}, query: `api_key=${TEST_API_KEY}&access_token=${TEST_API_KEY}` },
  { name: 'the key in another header', headers: { 'x-api-key': TEST_API_KEY } },
];

const WITH_BODY = new Set<HTTPMethods>(['POST', 'PUT', 'PATCH', 'DELETE']);

let routes: RegisteredRoute[];

/** One key per scope besides the all-scopes TEST_API_KEY (config/api-keys.ts). */
const SCOPED: Record<'admin' | 'send' | 'read' | 'modify' | 'login' | 'metrics', string> = {
  admin: 'scoped-admin-key-0123456789',
  send: 'scoped-send-key-0123456789',
  read: 'scoped-read-key-0123456789',
  modify: 'scoped-modify-key-0123456789',
  login: 'scoped-login-key-0123456789',
  metrics: 'scoped-metrics-key-0123456789',
};
const API_KEYS = [TEST_API_KEY, ...Object.entries(SCOPED).map(([scope, key]) => `${scope}:${key}`)].join(',');

/** The scope each /v1 route needs: the API's contract, written out. */
function scopeOf(url: string, method: string): keyof typeof SCOPED {
  if (url === '/v1/send' || url.startsWith('/v1/send/')) return 'send';
  // Reading mail and folders needs read; acting on them (every other method) modify.
  if (url.startsWith('/v1/mailboxes/:id/messages') || url === '/v1/mailboxes/:id/folders') return ['GET', 'HEAD'].includes(method) ? 'read' : 'modify';
  if (url === '/v1/login/exchange') return 'login';
  return 'admin';
}

const redis = useRedis();
const t = useTestApp({ API_KEYS }, redis);
beforeAll(() => {
  routes = registeredRoutes(t.app);
});

function call(route: RegisteredRoute, headers: Record<string, string | string[]>, query?: string) {
  const url = concreteUrl(route.url);
  return t.app.inject({
    method: route.method,
    url: query ? `${url}?${query}` : url,
    headers: WITH_BODY.has(route.method) ? { ...headers, 'content-type': 'application/json' } : headers,
    // A malformed body: the key check must refuse before the body is even parsed.
    ...(WITH_BODY.has(route.method) ? { payload: '{"not json' } : {}),
  });
}

describe('the route table', () => {
  it('is read completely from the app', async () => {
    expect(unparsedRouteLines(t.app)).toEqual([]);
    // Only the Swagger UI's static wildcard is printed in a way hasRoute cannot confirm.
    expect(routes.filter((r) => !r.confirmed).every((r) => r.url.startsWith('/docs'))).toBe(true);
    expect(routes.filter((r) => r.url.startsWith('/v1/')).length).toBeGreaterThan(20);
    // Every documented operation is in the list: the parser misses nothing the OpenAPI document knows.
    const listed = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`));
    const doc = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) expect(listed, `${method} ${path}`).toContain(`${method} ${path}`);
    }
  });

  it('keeps the allowlist honest: each public pattern is a real route that answers without a key', async () => {
    for (const { pattern } of PUBLIC) {
      const matching = routes.filter((r) => isPublic(r.url, [{ pattern, why: '' }]));
      expect(matching.length, pattern).toBeGreaterThan(0);
      const get = matching.find((r) => r.method === 'GET' && r.confirmed) ?? matching[0]!;
      const res = await call(get, {});
      expect(res.statusCode, `${get.method} ${get.url}`).not.toBe(401);
    }
  });

  it('answers 401 problem+json to every other route, whatever stands in for the key', async () => {
    const guarded = routes.filter((r) => !isPublic(r.url));
    expect(guarded.length).toBeGreaterThan(20);
    const failures: string[] = [];
    for (const route of guarded) {
      for (const attempt of KEYLESS) {
        const res = await call(route, attempt.headers, attempt.query);
        const name = `${route.method} ${route.url} with ${attempt.name}`;
        if (res.statusCode !== 401) {
          failures.push(`${name}: ${res.statusCode}`);
          continue;
        }
        if (route.method === 'HEAD') continue; // no body to look at
        expect(res.headers['content-type'], name).toMatch(/^application\/problem\+json/);
        expect(res.json(), name).toMatchObject({ status: 401, code: 'unauthorized' });
        expect(res.headers['www-authenticate'] ?? '', name).not.toContain(TEST_API_KEY);
      }
    }
    expect(failures).toEqual([]);
  });

  it('lets the configured key through on the same routes (the 401s above are the key check, not the route)', async () => {
    const guarded = routes.filter((r) => !isPublic(r.url) && r.method === 'GET');
    for (const route of guarded) {
      const res = await t.app.inject({ method: 'GET', url: concreteUrl(route.url), headers: t.auth });
      expect(res.statusCode, route.url).not.toBe(401);
    }
  });
});

describe('request bodies', () => {
  it('answer 400 to an unknown field on every route that takes a body, actions that take none included', async () => {
    const writing = routes.filter((r) => r.url.startsWith('/v1/') && !isPublic(r.url) && ['POST', 'PUT', 'PATCH'].includes(r.method));
    expect(writing.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const route of writing) {
      const res = await t.app.inject({ method: route.method, url: concreteUrl(route.url), headers: t.auth, payload: { unexpectedField: 1 } });
      if (res.statusCode !== 400) failures.push(`${route.method} ${route.url}: ${res.statusCode}`);
      else expect(res.json(), route.url).toMatchObject({ status: 400, code: 'validation_failed' });
    }
    expect(failures).toEqual([]);
  });
});

describe('API key scopes', () => {
  it('answer 403 to a key without the route\'s scope, naming it, and let a key with it past the check, on every /v1 route', async () => {
    const guarded = routes.filter((r) => r.url.startsWith('/v1/') && !isPublic(r.url));
    const used = new Set<string>();
    const failures: string[] = [];
    for (const route of guarded) {
      const needed = scopeOf(route.url, route.method);
      used.add(needed);
      for (const [scope, key] of Object.entries(SCOPED)) {
        const res = await call(route, { authorization: `Bearer ${key}` });
        const name = `${route.method} ${route.url} with a ${scope} key`;
        if (scope === needed) {
          if ([401, 403].includes(res.statusCode)) failures.push(`${name}: ${res.statusCode}`);
        } else if (res.statusCode !== 403) {
          failures.push(`${name}: ${res.statusCode}, not 403`);
        } else if (route.method !== 'HEAD') {
          expect(res.json(), name).toMatchObject({ status: 403, code: 'forbidden', scope: needed });
        }
      }
    }
    expect(failures).toEqual([]);
    expect([...used].sort()).toEqual(['admin', 'login', 'modify', 'read', 'send']);
  });
});

describe('METRICS_REQUIRE_API_KEY=true', () => {
  it('puts /metrics behind the key too (a key with every scope, or the metrics scope)', async () => {
    const guarded = await buildTestApp(redis.url, { METRICS_REQUIRE_API_KEY: 'true', API_KEYS });
    try {
      const metrics = registeredRoutes(guarded.app).filter((r) => r.url === '/metrics');
      expect(metrics.length).toBeGreaterThan(0);
      for (const route of metrics) {
        expect((await guarded.app.inject({ method: route.method, url: '/metrics' })).statusCode, route.method).toBe(401);
        expect((await guarded.app.inject({ method: route.method, url: '/metrics', headers: guarded.auth })).statusCode, route.method).toBe(200);
        expect((await guarded.app.inject({ method: route.method, url: '/metrics', headers: { authorization: `Bearer ${SCOPED.metrics}` } })).statusCode).toBe(200);
        expect((await guarded.app.inject({ method: route.method, url: '/metrics', headers: { authorization: `Bearer ${SCOPED.admin}` } })).statusCode).toBe(403);
      }
    } finally {
      await guarded.close();
    }
  });
});
