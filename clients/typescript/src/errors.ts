/**
 * The client's errors: one base class, each subclass with a stable `name` and a `code` a caller
 * may switch on. Messages never carry the API key or a webhook secret.
 */
import type { components } from './schema.js';

/** RFC 9457 problem details, as the service answers every error. */
export type Problem = components['schemas']['Problem'];

export abstract class MailsyncClientError extends Error {
  abstract readonly code: string;
}

/** The service answered an error: its problem document, or `problem` undefined when the body was not one (a proxy's page). */
export class MailsyncApiError extends MailsyncClientError {
  override readonly name = 'MailsyncApiError';
  /** The problem's snake_case `code` (`validation_failed`, `not_found`, …), or `http_<status>` without a problem. */
  readonly code: string;
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(status: number, body: unknown) {
    const problem = isProblem(body) ? body : undefined;
    super(problem ? `${problem.status} ${problem.code}: ${problem.detail}` : `mailsync answered HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.code = problem?.code ?? `http_${status}`;
  }
}

/** Why a webhook delivery was refused by verifyWebhook(). */
export type InvalidWebhookCode =
  /** The secret is not a `whsec_…` (base64) secret. */
  | 'invalid_secret'
  /** `webhook-id`, `webhook-timestamp` or `webhook-signature` is missing, or the timestamp is not a number. */
  | 'missing_headers'
  /** The timestamp is more than the tolerance (5 minutes) away from now: a replay, or a skewed clock. */
  | 'stale_timestamp'
  /** No `v1` signature matches: another secret, or a body changed on the way. */
  | 'bad_signature'
  /** Signed, but not a JSON event `{ type, timestamp, data }`. */
  | 'malformed_payload'
  /** Signed, but of a type this client version does not know: update the client. */
  | 'unknown_event_type';

export class InvalidWebhookError extends MailsyncClientError {
  override readonly name = 'InvalidWebhookError';
  readonly code: InvalidWebhookCode;

  constructor(code: InvalidWebhookCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const { code, status, detail } = body as Record<string, unknown>;
  return typeof code === 'string' && typeof status === 'number' && typeof detail === 'string';
}
