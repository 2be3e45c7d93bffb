/**
 * The one place that decides what an error means: which HTTP status it gets,
 * whether a job that hit it should retry, and what a client may see. Route
 * handlers, job processors and the problem renderer all ask `classify`.
 */
import { AppError } from './errors.js';
import { isRedisOutOfMemory, isRedisUnavailable } from './redis-failures.js';
import type { SetupStep } from '../domain/setup/steps.js';
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
  /** The setup guide's step that fixes it. */
  step: SetupStep | undefined;
  fields: Record<string, unknown>;
  /** For a 503 the client should retry later: the `Retry-After` it is answered with (s). */
  retryAfterSeconds: number | undefined;
}

interface Policy {
  status: number;
  title: string;
  retryable: boolean;
  retryAfterSeconds?: number;
  /** A 500 whose detail, hint and fields are still shown: written for the operator, holding no internals. */
  public?: true;
}

/** Retry-After of a storage_full answer. */
export const STORAGE_FULL_RETRY_AFTER_SECONDS = 30;

const POLICIES: Record<ErrorCode, Policy> = {
  config_invalid: { status: 500, title: 'Configuration error', retryable: false },
  validation_failed: { status: 400, title: 'Invalid request', retryable: false },
  invalid_json: { status: 400, title: 'Malformed JSON', retryable: false },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', retryable: false },
  payload_too_large: { status: 413, title: 'Request body too large', retryable: false },
  rate_limited: { status: 429, title: 'Too many requests', retryable: true },
  unauthorized: { status: 401, title: 'Unauthorized', retryable: false },
  forbidden: { status: 403, title: 'API key lacks the scope', retryable: false },
  not_found: { status: 404, title: 'Not found', retryable: false },
  route_not_found: { status: 404, title: 'Not found', retryable: false },
  method_not_allowed: { status: 405, title: 'Method not allowed', retryable: false },
  conflict: { status: 409, title: 'Conflict', retryable: false },
  dependency_unavailable: { status: 503, title: 'Service unavailable', retryable: true },
  // Redis at its maxmemory refuses writes until an operator frees memory or raises the limit:
  // minutes, not milliseconds, so clients are asked to wait rather than hammer it.
  storage_full: { status: 503, title: 'Storage full', retryable: true, retryAfterSeconds: STORAGE_FULL_RETRY_AFTER_SECONDS },
  // The service's own configuration is wrong (a key missing from ENCRYPTION_KEY_PREVIOUS) or a record
  // is damaged: a 500, since no client change fixes it, and not a 503, since waiting does not either
  // (and clients and proxies retry a 503). Public, so the answer names the key id and the fix.
  // The process holds as many large bodies as its budget allows: one finishes within seconds.
  server_busy: { status: 503, title: 'Too many large requests at once', retryable: true },
  decryption_failed: { status: 500, title: 'Stored data unreadable', retryable: false, public: true },
  // The record names a host the operator has not allowed: it must be changed (or the list widened).
  host_not_allowed: { status: 422, title: 'Host not allowed', retryable: false },
  internal: { status: 500, title: 'Internal error', retryable: true },
  // Microsoft refused the configuration: the user must change something. Jobs
  // still retry these for a brand-new connection (portal changes take tens of
  // minutes); that decision is the token service's, not this table's.
  invalid_client_secret: { status: 422, title: 'Client secret refused', retryable: false },
  client_secret_expired: { status: 422, title: 'Client secret expired', retryable: false },
  client_assertion_invalid: { status: 422, title: 'Client certificate or assertion refused', retryable: false },
  // A clock off by minutes, or a projected token not renewed: fixed on this side, not in the portal.
  client_assertion_expired: { status: 422, title: 'Client assertion outside its valid time', retryable: false },
  federated_credential_mismatch: { status: 422, title: 'No matching federated credential', retryable: false },
  federated_token_unavailable: { status: 422, title: 'Federated token file unreadable', retryable: false },
  application_not_found: { status: 422, title: 'Application not found', retryable: false },
  tenant_not_found: { status: 422, title: 'Tenant not found', retryable: false },
  tenant_required: { status: 422, title: 'Tenant id required', retryable: false },
  consent_required: { status: 422, title: 'Consent required', retryable: false },
  service_principal_missing: { status: 422, title: 'App not consented in the tenant', retryable: false },
  invalid_scope: { status: 422, title: 'Invalid scope', retryable: false },
  redirect_uri_mismatch: { status: 422, title: 'Redirect URI not registered', retryable: false },
  refresh_token_expired: { status: 422, title: 'Sign-in expired', retryable: false },
  grant_revoked: { status: 422, title: 'Sign-in revoked', retryable: false },
  user_not_in_tenant: { status: 422, title: 'Account not in tenant', retryable: false },
  malformed_token_request: { status: 502, title: 'Token request refused as malformed', retryable: false },
  missing_permission: { status: 422, title: 'Permission missing', retryable: false },
  // Microsoft could not be reached or answered nonsense: try again later.
  identity_platform_unreachable: { status: 502, title: 'Identity platform unreachable', retryable: true },
  identity_platform_tls_error: { status: 502, title: 'TLS error reaching the identity platform', retryable: false },
  identity_platform_timeout: { status: 504, title: 'Identity platform timed out', retryable: true },
  identity_platform_bad_response: { status: 502, title: 'Unreadable answer from the identity platform', retryable: true },
  identity_platform_error: { status: 502, title: 'Identity platform error', retryable: true },
  not_authorized: { status: 409, title: 'Mailbox not authorized', retryable: false },
  wrong_account: { status: 400, title: 'Wrong account signed in', retryable: false },
  oauth_state_invalid: { status: 400, title: 'Sign-in link expired or used', retryable: false },
  oauth_denied: { status: 400, title: 'Sign-in cancelled', retryable: false },
  // The sign-in provider: switched off, a returnTo outside LOGIN_RETURN_TO_ALLOWLIST, an ID token
  // that fails verification (signature, issuer, audience, nonce, expiry), an unknown or used login code,
  // a callback reached by a browser that did not start the sign-in (no or another binding cookie).
  sign_in_disabled: { status: 403, title: 'Sign-in disabled', retryable: false },
  return_to_not_allowed: { status: 400, title: 'Return address not allowed', retryable: false },
  id_token_invalid: { status: 400, title: 'Sign-in could not be verified', retryable: false },
  login_code_invalid: { status: 400, title: 'Login code invalid', retryable: false },
  sign_in_not_bound: { status: 400, title: 'Sign-in started in another browser', retryable: false },
  admin_consent_declined: { status: 400, title: 'Admin consent declined', retryable: false },
  admin_consent_required: { status: 403, title: 'An administrator must consent', retryable: false },
  // Webhooks: a URL the service will not deliver to; a delivery still being attempted.
  webhook_url_invalid: { status: 400, title: 'Invalid webhook URL', retryable: false },
  webhook_target_forbidden: { status: 400, title: 'Webhook target not allowed', retryable: false },
  delivery_pending: { status: 409, title: 'Delivery still pending', retryable: false },
  // Mail servers. A refusal the user must fix is a 422 and not retried; a server
  // that is down, busy or throttling is a 502/503 and retried later. IMAP's
  // "User is authenticated but not connected" is retried: Exchange says it both
  // for a missing mailbox permission and under throttling, and a new setup's
  // permission can take tens of minutes to apply (the hint names both causes).
  // SMTP's transient/permanent split is classifySmtpFailure's; these agree with it.
  imap_auth_failed: { status: 422, title: 'IMAP login refused', retryable: false },
  shared_mailbox_access_denied: { status: 422, title: 'No Full Access to the shared mailbox', retryable: false },
  imap_not_connected: { status: 502, title: 'IMAP mailbox not connected', retryable: true },
  imap_throttled: { status: 503, title: 'IMAP throttled', retryable: true },
  imap_unreachable: { status: 502, title: 'IMAP server unreachable', retryable: true },
  imap_tls_error: { status: 502, title: 'TLS error reaching the IMAP server', retryable: false },
  imap_folder_not_found: { status: 422, title: 'Folder not found', retryable: false },
  // Acting on mail: refusals that waiting does not fix (the hint says what does).
  imap_over_quota: { status: 422, title: 'Mailbox over its quota', retryable: false },
  imap_permission_denied: { status: 422, title: 'No permission to change the mailbox', retryable: false },
  imap_limit_exceeded: { status: 422, title: 'Over a mail server limit', retryable: false },
  imap_unsupported: { status: 422, title: 'Not supported by the mail server', retryable: false },
  imap_error: { status: 502, title: 'IMAP command failed', retryable: true },
  smtp_auth_disabled: { status: 422, title: 'SMTP AUTH disabled', retryable: false },
  smtp_auth_blocked: { status: 422, title: 'SMTP AUTH blocked by policy', retryable: false },
  smtp_auth_failed: { status: 422, title: 'SMTP login refused', retryable: false },
  smtp_send_as_denied: { status: 422, title: 'Not allowed to send as this address', retryable: false },
  send_as_denied: { status: 422, title: 'Not allowed to send as this address', retryable: false },
  smtp_mailbox_full: { status: 422, title: 'Sending mailbox full', retryable: false },
  smtp_recipient_rejected: { status: 422, title: 'Recipient rejected', retryable: false },
  smtp_message_too_large: { status: 422, title: 'Message too large', retryable: false },
  smtp_rejected: { status: 422, title: 'Message rejected', retryable: false },
  smtp_throttled: { status: 503, title: 'SMTP submission throttled', retryable: true },
  smtp_unavailable: { status: 502, title: 'SMTP server unavailable', retryable: true },
  smtp_tls_error: { status: 502, title: 'TLS error reaching the SMTP server', retryable: false },
  // Reading mail. A folder named in the request's query that the mailbox lacks is a 404
  // (folder_not_found); imap_folder_not_found (422) stays the answer for a mailbox whose
  // *configured* folders are wrong, which polling treats as a setup error to fix.
  folder_not_found: { status: 404, title: 'Folder not found', retryable: false },
  message_not_found: { status: 404, title: 'Message not found', retryable: false },
  message_too_large: { status: 413, title: 'Message too large', retryable: false },
  message_unparseable: { status: 422, title: 'Message cannot be parsed', retryable: false },
  attachment_not_found: { status: 404, title: 'Attachment not found', retryable: false },
  folder_exists: { status: 409, title: 'Folder exists', retryable: false },
  // Sending: the same Idempotency-Key with another body is the client's mistake, never retried.
  idempotency_mismatch: { status: 422, title: 'Idempotency key reused with another request', retryable: false },
  // Canceling a message a worker already took (it may be on its way) or that is finished: too late.
  send_not_cancelable: { status: 409, title: 'Message can no longer be canceled', retryable: false },
};

const GENERIC_5XX_DETAIL = 'The service failed to handle this request. It has been logged.';

/**
 * The Retry-After (s) an error asks for itself: a server's suggested back-off (`retryAfterMs`, as
 * Exchange's "Request is throttled. Suggested Backoff Time: … milliseconds"), or a local limit's
 * `retryAfterSeconds`. At least 1 s.
 */
function retryAfterOf(fields: Record<string, unknown>): number | undefined {
  const { retryAfterMs, retryAfterSeconds } = fields;
  if (typeof retryAfterSeconds === 'number' && Number.isFinite(retryAfterSeconds)) return Math.max(1, Math.ceil(retryAfterSeconds));
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) return Math.max(1, Math.ceil(retryAfterMs / 1000));
  return undefined;
}

export function policyOf(code: ErrorCode): Policy {
  return POLICIES[code];
}

export function classify(err: unknown): Classification {
  if (err instanceof AppError) {
    const policy = POLICIES[err.code];
    // Upstream failures (502/503/504) are the client's business to know; internal ones are not.
    const exposed = policy.status < 500 || (policy.status !== 500 && policy.status !== 501) || policy.public === true;
    return {
      code: err.code,
      status: policy.status,
      title: policy.title,
      retryable: policy.retryable,
      detail: exposed ? err.detail : GENERIC_5XX_DETAIL,
      hint: exposed ? err.hint : undefined,
      step: exposed ? err.step : undefined,
      fields: exposed ? err.fields : {},
      retryAfterSeconds: policy.retryAfterSeconds ?? (exposed ? retryAfterOf(err.fields) : undefined),
    };
  }
  if (isRedisOutOfMemory(err)) {
    return classify(new AppError('storage_full', 'Redis is at its maxmemory and refuses writes.', {
      detail: 'The service\'s storage (Redis) is full and refuses changes right now; try again later.',
      hint: 'Redis reached its maxmemory: free memory in Redis or raise maxmemory (keep maxmemory-policy noeviction). ' +
        'Requests succeed again by themselves once there is room; /health/ready names redis-memory until then.',
    }));
  }
  if (err instanceof Error && isRedisUnavailable(err)) {
    return classify(new AppError('dependency_unavailable', 'Redis is unreachable.', {
      detail: 'The service cannot reach its storage right now; try again shortly.',
    }));
  }
  const policy = POLICIES.internal;
  return { code: 'internal', ...policy, detail: GENERIC_5XX_DETAIL, hint: undefined, step: undefined, fields: {}, retryAfterSeconds: undefined };
}
