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
  /**
   * JSON pointer into the input that was checked: `/clientId` of a command's input. The HTTP layer
   * places it in the request (`/body/clientId`), so the domain never names a request part.
   */
  field: string;
  message: string;
}

/** The part of an HTTP request a field pointer starts in; set only by the HTTP layer. */
export type RequestPart = 'body' | 'querystring' | 'params' | 'headers';

export class ValidationError extends AppError {
  /** Where the pointers start, when the HTTP layer checked the request itself; undefined: a command's input. */
  readonly part: RequestPart | undefined;
  constructor(detail: string, errors: FieldProblem[], hint?: string, part?: RequestPart) {
    super('validation_failed', detail, { fields: { errors }, hint });
    this.part = part;
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

/**
 * An id of another shape than its kind's (domain/ids.ts): it names no record. The same 404 as an
 * unknown id, refused before any Redis key is built from it.
 */
export class MalformedIdError extends NotFoundError {}

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

/**
 * Data that cannot be decrypted: written with a key this service does not have (ENCRYPTION_KEY
 * changed without the old key in ENCRYPTION_KEY_PREVIOUS), or damaged. Its detail and hint are
 * public (classify.ts): they name a key's id, never a key; an id cannot be turned back into its key.
 */
export class DecryptionError extends AppError {
  /** The id of the key the value was written with, when the service does not have that key. */
  readonly missingKeyId: string | undefined;

  constructor(message: string, options: { missingKeyId?: string } = {}) {
    const id = options.missingKeyId;
    super('decryption_failed', message, id === undefined
      ? {
          detail: 'A stored secret cannot be decrypted: it is damaged, or was copied from another record.',
          hint: 'Set the secret again (PATCH the connection\'s clientSecret, sign the mailbox in again) or delete the record.',
        }
      : {
          detail: `A stored secret was written with the encryption key whose id is ${id}, which this service does not have.`,
          hint: `Set ENCRYPTION_KEY_PREVIOUS to the key with id ${id} (keep the new key in ENCRYPTION_KEY) and restart the service.`,
          fields: { keyId: id },
        });
    this.missingKeyId = id;
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
