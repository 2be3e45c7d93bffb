/**
 * The one place that decides what an error means: which HTTP status it gets,
 * whether a job that hit it should retry, and what a client may see. Route
 * handlers, job processors and the problem renderer all ask `classify`.
 */
import { AppError } from './errors.js';
import type { ErrorCode } from './codes.js';

export interface Classification {
  code: ErrorCode;
  status: number;
  title: string;
  /** A job that failed with this error should be tried again later. */
  retryable: boolean;
  /** Safe to show a client: for 5xx, a generic sentence, never internals. */
  detail: string;
  hint: string | undefined;
  fields: Record<string, unknown>;
}

interface Policy {
  status: number;
  title: string;
  retryable: boolean;
}

const POLICIES: Record<ErrorCode, Policy> = {
  config_invalid: { status: 500, title: 'Configuration error', retryable: false },
  validation_failed: { status: 400, title: 'Invalid request', retryable: false },
  invalid_json: { status: 400, title: 'Malformed JSON', retryable: false },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', retryable: false },
  payload_too_large: { status: 413, title: 'Request body too large', retryable: false },
  unauthorized: { status: 401, title: 'Unauthorized', retryable: false },
  not_found: { status: 404, title: 'Not found', retryable: false },
  route_not_found: { status: 404, title: 'Not found', retryable: false },
  method_not_allowed: { status: 405, title: 'Method not allowed', retryable: false },
  conflict: { status: 409, title: 'Conflict', retryable: false },
  dependency_unavailable: { status: 503, title: 'Service unavailable', retryable: true },
  decryption_failed: { status: 500, title: 'Stored data unreadable', retryable: false },
  internal: { status: 500, title: 'Internal error', retryable: true },
};

const GENERIC_5XX_DETAIL = 'The service failed to handle this request. It has been logged.';

/** Network failures of Redis and other dependencies, recognised by their codes. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

function isRedisUnavailable(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  // ioredis: "Connection is closed.", "Stream isn't writeable and enableOfflineQueue options is false",
  // and MaxRetriesPerRequestError when it gave up reconnecting for a command.
  return err.name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable/.test(err.message);
}

export function policyOf(code: ErrorCode): Policy {
  return POLICIES[code];
}

export function classify(err: unknown): Classification {
  if (err instanceof AppError) {
    const policy = POLICIES[err.code];
    const exposed = policy.status < 500 || err.code === 'dependency_unavailable';
    return {
      code: err.code,
      status: policy.status,
      title: policy.title,
      retryable: policy.retryable,
      detail: exposed ? err.detail : GENERIC_5XX_DETAIL,
      hint: exposed ? err.hint : undefined,
      fields: exposed ? err.fields : {},
    };
  }
  if (err instanceof Error && isRedisUnavailable(err)) {
    return classify(new AppError('dependency_unavailable', 'Redis is unreachable.', {
      detail: 'The service cannot reach its storage right now; try again shortly.',
    }));
  }
  const policy = POLICIES.internal;
  return { code: 'internal', ...policy, detail: GENERIC_5XX_DETAIL, hint: undefined, fields: {} };
}
