/**
 * The HTTPS front: routing, request log, body parsing, Entra-like response
 * headers, the outage modes (down: sockets destroyed on connect and on
 * request; slow: every request delayed; http500: every request answered 500)
 * and hostile token answers (hostile-token.ts).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { entraError } from './aadsts.js';
import { handleAuthorize } from './authorize.js';
import { handleAdminConsent } from './admin-consent.js';
import { escapeHtml, type IdentityState, type Incoming, type Reply } from './context.js';
import { instanceDiscovery, jwks, openidConfiguration } from './discovery.js';
import { handleToken } from './grants.js';
import { writeHostileTokenAnswer } from './hostile-token.js';
import { decodeProtectedHeader } from 'jose';

export interface RequestLogEntry {
  method: string;
  /** Path without the query string (authorize queries carry state and PKCE values). */
  path: string;
  tenant?: string;
  clientId?: string;
  grantType?: string;
  status?: number;
  /** A client assertion's JOSE header (public: alg, x5t#S256, x5t, x5c, kid), never the assertion. */
  assertionHeader?: Record<string, unknown>;
  at: number;
}

const MAX_BODY_BYTES = 64 * 1024;
const FORM_TYPE = 'application/x-www-form-urlencoded';

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, reply: Reply, correlationId: string | undefined): number {
  const common: Record<string, string> = {
    'cache-control': 'no-store, no-cache',
    pragma: 'no-cache',
    'x-ms-request-id': randomUUID(),
    ...(correlationId ? { 'client-request-id': correlationId } : {}),
  };
  if (reply.kind === 'redirect') {
    res.writeHead(302, { ...common, location: reply.location, 'content-length': '0' }).end();
    return 302;
  }
  const isJson = reply.kind === 'json';
  const payload = isJson ? JSON.stringify(reply.body) : reply.html;
  res.writeHead(reply.status, {
    ...common,
    ...(isJson ? reply.headers : {}),
    'content-type': isJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
  return reply.status;
}

type Route = { method: string; pattern: RegExp; handle: (state: IdentityState, incoming: Incoming) => Reply | Promise<Reply> };

/** Discovery answers for an unknown tenant use error `invalid_tenant`, unlike the token endpoint. */
function unknownTenant(state: IdentityState, incoming: Incoming): Reply {
  const { status, body } = entraError(90002, { tenant: incoming.tenantSegment }, { baseUrl: state.baseUrl, correlationId: incoming.correlationId });
  return { kind: 'json', status, body: { ...body, error: 'invalid_tenant' } };
}

const routes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/common\/discovery\/instance$/,
    handle: (state, incoming) => ({ kind: 'json', status: 200, body: instanceDiscovery(state.baseUrl, incoming.query) }),
  },
  {
    method: 'GET',
    pattern: /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/,
    handle: (state, incoming) => {
      const ref = state.directory.resolveTenant(incoming.tenantSegment);
      return ref ? { kind: 'json', status: 200, body: openidConfiguration(state.baseUrl, ref) } : unknownTenant(state, incoming);
    },
  },
  {
    method: 'GET',
    pattern: /^\/([^/]+)\/discovery\/v2\.0\/keys$/,
    handle: (state, incoming) => {
      const ref = state.directory.resolveTenant(incoming.tenantSegment);
      return ref ? { kind: 'json', status: 200, body: jwks(state.baseUrl, state.pki.signingKey, ref) } : unknownTenant(state, incoming);
    },
  },
  { method: 'GET', pattern: /^\/([^/]+)\/oauth2\/v2\.0\/authorize$/, handle: handleAuthorize },
  { method: 'POST', pattern: /^\/([^/]+)\/oauth2\/v2\.0\/token$/, handle: handleToken },
  { method: 'GET', pattern: /^\/([^/]+)\/(?:v2\.0\/)?adminconsent$/, handle: handleAdminConsent },
  {
    method: 'GET',
    pattern: /^\/error$/,
    handle: (_state, incoming) => ({
      kind: 'html',
      status: 200,
      html: `<!DOCTYPE html><html><body><h1>Error code AADSTS${escapeHtml(incoming.query.get('code') ?? '')}</h1></body></html>`,
    }),
  },
];

export function createIdentityHttpsServer(state: IdentityState, log: RequestLogEntry[]): Server {
  const server = createServer({ cert: state.pki.serverCertPem, key: state.pki.serverKeyPem }, (req, res) => {
    handle(state, log, req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        send(res, { kind: 'json', status: 500, body: { error: 'sandbox_bug', error_description: String(err) } }, undefined);
      } else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    if (state.faults.outage?.kind === 'down') socket.destroy();
  });
  return server;
}

function decodeSegment(raw: string | undefined): string {
  if (!raw) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

async function handle(state: IdentityState, log: RequestLogEntry[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', state.baseUrl);
  const method = req.method ?? 'GET';
  const rawBody = method === 'POST' ? await readBody(req) : '';
  const isForm = (req.headers['content-type'] ?? '').toLowerCase().startsWith(FORM_TYPE);
  const form = new URLSearchParams(isForm && rawBody ? rawBody : '');
  // MSAL Node sends client-request-id in the query string and the form, other clients as a header.
  const header = req.headers['client-request-id'];
  const correlationId =
    (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('client-request-id') ?? form.get('client-request-id') ?? undefined;
  const route = routes.find((r) => r.pattern.test(url.pathname));
  const segment = decodeSegment(route?.pattern.exec(url.pathname)?.[1]);
  const clientId = form.get('client_id') ?? url.searchParams.get('client_id');
  const grantType = form.get('grant_type');
  const entry: RequestLogEntry = { method, path: url.pathname, at: Date.now() };
  if (segment) entry.tenant = segment;
  if (clientId) entry.clientId = clientId;
  if (grantType) entry.grantType = grantType;
  const assertion = form.get('client_assertion');
  if (assertion) {
    try {
      entry.assertionHeader = decodeProtectedHeader(assertion) as Record<string, unknown>;
    } catch {
      // A malformed assertion: the token endpoint answers it.
    }
  }
  log.push(entry);

  const outage = state.faults.outage;
  if (outage?.kind === 'down') {
    req.socket.destroy();
    return;
  }
  if (outage?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, outage.delayMs ?? 5000));
  const incoming: Incoming = { tenantSegment: segment, query: url.searchParams, form, correlationId };
  let reply: Reply;
  if (outage?.kind === 'http500') {
    const { body } = entraError(90033, {}, { baseUrl: state.baseUrl, correlationId });
    reply = { kind: 'json', status: 500, body };
  } else if (!route) {
    reply = { kind: 'json', status: 404, body: { error: 'not_found', error_description: `no route for ${url.pathname}` } };
  } else if (route.method !== method) {
    reply = { kind: 'json', status: 405, body: { error: 'invalid_request', error_description: `The endpoint only accepts ${route.method} requests. Received a ${method} request.` } };
  } else if (method === 'POST' && (rawBody === undefined || !isForm)) {
    const { status, body } = entraError(9002313, {}, { baseUrl: state.baseUrl, correlationId });
    reply = { kind: 'json', status, body };
  } else {
    reply = await route.handle(state, incoming);
  }
  const hostile = route?.handle === handleToken ? state.faults.tokenAnswer(clientId ?? undefined) : undefined;
  entry.status = hostile ? writeHostileTokenAnswer(res, hostile, reply) : send(res, reply, correlationId);
}
