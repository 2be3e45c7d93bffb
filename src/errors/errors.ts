/**
 * The service's error hierarchy. Every error the service raises on purpose is
 * an AppError with a stable snake_case `code` that clients may switch on.
 * What an error *means* (HTTP status, retry or give up, title) is decided in
 * one place, `classify.ts`; the classes only carry facts.
 */
import type { SetupStep } from '../domain/setup/steps.js';
import type { ErrorCode } from './codes.js';

export interface AppErrorOptions {
  /** Public explanation; safe to show a client. */
  detail?: string;
  /** What the user must change, in words from the setup guide. */
  hint?: string;
  /** The setup guide's step that fixes it. */
  step?: SetupStep;
  /** Extra public fields for the problem document (e.g. `errors`, `aadstsCode`). */
  fields?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly hint: string | undefined;
  readonly step: SetupStep | undefined;
  readonly fields: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.detail = options.detail ?? message;
    this.hint = options.hint;
    this.step = options.step;
    this.fields = options.fields ?? {};
  }
}

/** A missing or malformed environment variable. */
export class ConfigError extends AppError {
  readonly variable: string;
  constructor(variable: string, expectation: string) {
    super('config_invalid', `${variable} ${expectation}`);
    this.variable = variable;
  }
}

export interface FieldProblem {
  /** JSON pointer into the request part, e.g. `/body/clientId`. */
  field: string;
  message: string;
}

export class ValidationError extends AppError {
  constructor(detail: string, errors: FieldProblem[], hint?: string) {
    super('validation_failed', detail, { fields: { errors }, hint });
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'A valid API key is required: send Authorization: Bearer <key>.') {
    super('unauthorized', detail);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super('not_found', `${what} ${id} does not exist.`, { fields: { resource: what } });
  }
}

export class ConflictError extends AppError {
  constructor(detail: string, hint?: string) {
    super('conflict', detail, { hint });
  }
}

/** Redis (or another dependency the service cannot work without) is unreachable. */
export class DependencyUnavailableError extends AppError {
  constructor(dependency: string, cause?: unknown) {
    super('dependency_unavailable', `${dependency} is unreachable.`, {
      detail: 'The service cannot reach its storage right now; try again shortly.',
      cause,
    });
  }
}

/** Data that cannot be decrypted: a wrong or missing key, or a damaged record. */
export class DecryptionError extends AppError {
  constructor(message: string) {
    super('decryption_failed', message, {
      detail: 'A stored secret cannot be decrypted.',
      hint: 'Set ENCRYPTION_KEY_PREVIOUS to the key this record was written with.',
    });
  }
}

/** A valid API key without the scope the route needs (config/api-keys.ts). */
export class ForbiddenError extends AppError {
  constructor(scope: string) {
    super('forbidden', `This API key may not use this route: it needs the scope ${scope}.`, {
      hint: `Give the key that scope in API_KEYS (${scope}:<key>, scopes joined by +: send+read:<key>), or use a key that has it.`,
      fields: { scope },
    });
  }
}

/**
 * An IMAP answer over the session's bounds (the adapter marks it; the connection was dropped with
 * it): what a message with an enormous header causes. Polling and listing narrow such a failure
 * down to that message.
 */
export function isResponseTooLarge(err: unknown): boolean {
  return err instanceof AppError && err.fields.responseTooLarge === true;
}
