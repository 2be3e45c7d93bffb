/**
 * Path ids are checked against their shape before a handler runs. A path id
 * becomes a Redis key, so `con_X:mailboxes` or `con_X:address:a@b` would name
 * another record of connection con_X. Whatever does not have its kind's shape
 * (domain/ids.ts) names no record: it answers the same 404 `not_found` as an
 * unknown id, and no Redis command is sent for it. A UID that is not a
 * positive 32-bit integer answers 404 `message_not_found`, as an unknown one does;
 * an attachment id that is not an IMAP part number (`2`, `1.2`) answers 404
 * `attachment_not_found`, before any IMAP session is opened.
 *
 * Each route declares the kind of each path parameter in its config
 * (`config: { pathIds: { id: 'con' } }`); registering a route with a path
 * parameter it does not declare fails at startup (requirePathIds).
 *
 * Order: the check is a preHandler, after the API key, the body and the
 * query are validated, so a malformed id answers exactly as an unknown
 * well-formed one does (a bad body is a 400 first, as for any id). A path
 * value the params schema refuses (over 64 characters, a UID that is no
 * integer) is mapped to the same 404 by the error handler (pathIdRefusal).
 */
import type { FastifyError, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { isId, RESOURCE_OF, type IdPrefix } from '../../domain/ids.js';
import { AppError, MalformedIdError } from '../../errors/errors.js';

/** What a path parameter is: an id of one kind, an IMAP UID, or an IMAP part number (an attachment's id). */
export type PathIdKind = IdPrefix | 'uid' | 'part';
export type PathIds = Readonly<Record<string, PathIdKind>>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The kind of each parameter in the route's path (see plugins/path-ids.ts). */
    pathIds?: PathIds;
  }
}

/** IMAP UIDs are non-zero 32-bit unsigned numbers (RFC 3501 2.3.1.1). */
const MAX_UID = 4_294_967_295;

function isUid(value: unknown): boolean {
  const n = typeof value === 'string' && /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_UID;
}

/** An IMAP part number: dot-separated positive numbers, at most 32 levels of up to 4 digits (64 characters at most). */
const PART = /^[1-9][0-9]{0,3}(\.[1-9][0-9]{0,3}){0,31}$/;

function isPart(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 64 && PART.test(value);
}

function refusal(kind: PathIdKind, value: unknown): AppError {
  const text = String(value);
  if (kind === 'part') {
    return new AppError('attachment_not_found', `There is no attachment ${JSON.stringify(text.slice(0, 64))}: attachment ids are IMAP part numbers such as 2 or 1.2.`, {
      hint: 'Attachment ids are the `id` of the attachments listed by GET /v1/mailboxes/{id}/messages/{uid}.',
    });
  }
  if (kind !== 'uid') return new MalformedIdError(RESOURCE_OF[kind], text);
  return new AppError('message_not_found', `There is no message with UID ${text}: UIDs are integers from 1 to ${MAX_UID}.`, {
    hint: 'UIDs are those of GET /v1/mailboxes/{id}/messages for the same folder.',
  });
}

/** The 404 for the route's first path parameter that does not have its declared shape, if any. */
export function malformedPathId(request: FastifyRequest): AppError | undefined {
  const declared = request.routeOptions.config.pathIds;
  if (!declared) return undefined;
  const params = (request.params ?? {}) as Record<string, unknown>;
  for (const [name, kind] of Object.entries(declared)) {
    const value = params[name];
    const valid = kind === 'uid' ? isUid(value) : kind === 'part' ? isPart(value) : isId(value, kind);
    if (!valid) return refusal(kind, value);
  }
  return undefined;
}

/** The preHandler hook of the API routes. A callback hook: no promise per request. */
export function checkPathIds(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  done(malformedPathId(request));
}

/** For the error handler: a path parameter the params schema refused is the same 404 as a malformed id. */
export function pathIdRefusal(error: FastifyError, request: FastifyRequest): AppError | undefined {
  return error.validationContext === 'params' ? malformedPathId(request) : undefined;
}

/** An onRoute hook: a route must declare the kind of every parameter of its path, and only those. */
export function requirePathIds(route: RouteOptions): void {
  const inPath = [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!).sort();
  const declared = Object.keys(route.config?.pathIds ?? {}).sort();
  if (inPath.join(',') !== declared.join(',')) {
    throw new Error(`${String(route.method)} ${route.url}: declare the kind of each path parameter in config.pathIds (http/plugins/path-ids.ts)`);
  }
}
