/**
 * One error handler: every failure becomes an RFC 9457 problem document with
 * a stable `code`. Fastify's own errors (schema, JSON, body size, media type)
 * are translated to the service's codes first; what the status and wording
 * are is decided by `classify`. 5xx bodies never carry internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classify } from '../../errors/classify.js';
import { AppError, ValidationError, type FieldProblem, type RequestPart } from '../../errors/errors.js';
import { pathIdRefusal } from './path-ids.js';

interface AjvIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

const REQUEST_PARTS: readonly string[] = ['body', 'querystring', 'params', 'headers'] satisfies RequestPart[];

/** Ajv's issues as pointers relative to the request part they are in. */
function fieldProblems(issues: AjvIssue[]): FieldProblem[] {
  return issues.map((issue) => {
    let field = issue.instancePath ?? '';
    let message = issue.message ?? 'is invalid';
    if (issue.keyword === 'additionalProperties' && typeof issue.params?.additionalProperty === 'string') {
      field = `${field}/${issue.params.additionalProperty}`;
      message = 'is not a known field';
    }
    return { field, message };
  });
}

/** Fastify and its parsers throw FastifyErrors; this maps them to AppErrors. */
export function translateFrameworkError(err: FastifyError): Error {
  if (err.validation) {
    const part = (REQUEST_PARTS.includes(err.validationContext ?? '') ? err.validationContext : 'body') as RequestPart;
    const problems = fieldProblems(err.validation as AjvIssue[]);
    const first = problems[0];
    return new ValidationError(first ? `/${part}${first.field} ${first.message}.` : 'The request is invalid.', problems, undefined, part);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_json', 'The request body is not valid JSON.', { cause: err });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'The request body is larger than this route accepts.', { cause: err });
    // Router errors, sent here by Fastify's `frameworkErrors` option (see answerFrameworkError).
    case 'FST_ERR_BAD_URL':
      return new AppError('validation_failed', 'The URL is malformed: a path segment has an invalid %-escape.', { cause: err });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('validation_failed', 'A path segment of the URL is too long.', { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('unsupported_media_type', 'Send the request body as application/json.', { cause: err });
    default:
      break;
  }
  // The JSON parser throws a SyntaxError with statusCode 400 for malformed JSON.
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
    return new AppError('invalid_json', 'The request body is not valid JSON.', { cause: err });
  }
  if (err.statusCode === 413) return new AppError('payload_too_large', 'The request body is too large.', { cause: err });
  if (err.statusCode === 415) return new AppError('unsupported_media_type', 'Send the request body as application/json.', { cause: err });
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError('validation_failed', err.message, { cause: err });
  }
  return err;
}

/**
 * Field pointers start in the input that was checked: the request part the HTTP layer validated,
 * or, for a command's own checks, its input, which is the body of a route that takes one and the
 * query string of one that does not.
 */
function locateFields(request: FastifyRequest, err: unknown, fields: Record<string, unknown>): Record<string, unknown> {
  if (!(err instanceof AppError) || !Array.isArray(fields.errors)) return fields;
  const part = err instanceof ValidationError && err.part ? err.part : request.routeOptions.schema?.body ? 'body' : 'querystring';
  const errors = (fields.errors as FieldProblem[]).map((problem) => ({ ...problem, field: `/${part}${problem.field}` }));
  return { ...fields, errors };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const c = classify(err);
  if (c.retryAfterSeconds !== undefined) reply.header('retry-after', String(c.retryAfterSeconds));
  return reply
    .code(c.status)
    .type('application/problem+json')
    .send({
      type: `https://mailsync.dev/problems/${c.code.replace(/_/g, '-')}`,
      title: c.title,
      status: c.status,
      detail: c.detail,
      code: c.code,
      instance: request.url.split('?')[0],
      requestId: String(request.id),
      ...(c.hint ? { hint: c.hint } : {}),
      ...(c.step ? { setupStep: c.step } : {}),
      ...locateFields(request, err, c.fields),
    });
}

/**
 * Fastify's router answers a malformed %-escape in the path and an overlong
 * path parameter itself, with its own JSON and without the error handler,
 * unless the `frameworkErrors` option hands them here (app.ts does).
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.info({ code: error.code }, 'request refused');
  sendProblem(request, reply, translateFrameworkError(error));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const err = pathIdRefusal(error, request) ?? translateFrameworkError(error);
    const c = classify(err);
    if (c.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: c.code }, 'request refused');
    return sendProblem(request, reply, err);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new AppError('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );
}
