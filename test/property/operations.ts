/**
 * The operations to fuzz, read from the app (every registered route, see
 * test/support/route-list.ts) and joined with what the app's own OpenAPI
 * document says about each: body, query and header schemas, the statuses it
 * may answer and in which media type. Also the one judgement every response
 * must pass.
 */
import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from 'fastify';
import { openApiPath, registeredRoutes } from '../support/route-list.js';
import type { JsonSchema } from './schema-values.js';

interface DocParameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema?: JsonSchema;
}

interface DocOperation {
  parameters?: DocParameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
}

export interface Operation {
  method: HTTPMethods;
  /** Fastify pattern: `/v1/connections/:id`. */
  url: string;
  name: string;
  params: string[];
  body: JsonSchema | undefined;
  query: DocParameter[];
  headers: DocParameter[];
  /** Upstream statuses (502/503/504) the operation documents: allowed, since a handler may really call Microsoft or IMAP. */
  upstream: Set<number>;
  /** Error statuses documented as an HTML page (the browser routes) rather than a problem document. */
  htmlErrors: boolean;
}

export function operationsOf(app: FastifyInstance): Operation[] {
  const doc = app.swagger() as { paths: Record<string, Record<string, DocOperation>> };
  return registeredRoutes(app)
    // Swagger UI's static wildcard cannot be addressed reliably (see route-list.ts); its named files are covered.
    .filter((route) => route.confirmed)
    .map((route) => {
      const op = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()] ?? {};
      const parameters = op.parameters ?? [];
      const responses = Object.entries(op.responses ?? {});
      return {
        method: route.method,
        url: route.url,
        name: `${route.method} ${route.url}`,
        params: [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!),
        body: op.requestBody?.content?.['application/json']?.schema,
        query: parameters.filter((p) => p.in === 'query'),
        headers: parameters.filter((p) => p.in === 'header'),
        upstream: new Set(responses.map(([status]) => Number(status)).filter((s) => s === 502 || s === 503 || s === 504)),
        htmlErrors: responses.some(([status, r]) => Number(status) >= 400 && r.content !== undefined && 'text/html' in r.content),
      };
    });
}

/**
 * Why a response breaks the contract, or undefined when it keeps it:
 * no 5xx but documented upstream ones; an error is a problem document with
 * a snake_case `code` (an HTML page on the browser routes).
 */
export function contractBreach(op: Operation, res: LightMyRequestResponse): string | undefined {
  const status = res.statusCode;
  if (status >= 500 && !op.upstream.has(status)) return `answered ${status}: ${res.body.slice(0, 300)}`;
  if (status < 400 || op.method === 'HEAD') return undefined;
  const type = String(res.headers['content-type'] ?? '');
  if (op.htmlErrors && type.startsWith('text/html')) return undefined;
  if (!type.startsWith('application/problem+json')) return `answered ${status} as ${type || 'no content type'}: ${res.body.slice(0, 300)}`;
  let problem: { status?: unknown; code?: unknown; title?: unknown };
  try {
    problem = JSON.parse(res.body) as typeof problem;
  } catch {
    return `answered ${status} with a problem that is not JSON: ${res.body.slice(0, 300)}`;
  }
  if (typeof problem.code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(problem.code)) return `problem without a stable code: ${res.body.slice(0, 300)}`;
  if (problem.status !== status) return `problem status ${String(problem.status)} differs from HTTP ${status}`;
  if (typeof problem.title !== 'string') return `problem without a title: ${res.body.slice(0, 300)}`;
  return undefined;
}
