/** Every stable error code the service can answer with. */
export const ERROR_CODES = [
  'config_invalid',
  'validation_failed',
  'invalid_json',
  'unsupported_media_type',
  'payload_too_large',
  'rate_limited',
  'unauthorized',
  // A valid API key without the route's scope
  'forbidden',
  'not_found',
  'route_not_found',
  'method_not_allowed',
  'conflict',
  'dependency_unavailable',
  // Redis is at its maxmemory (noeviction) and refuses writes
  'storage_full',
  // Large request bodies in flight fill the API process's byte budget (SEND_BODY_BUDGET_BYTES)
  'server_busy',
  'decryption_failed',
  // A secret would go to a host off AUTHORITY_HOST_ALLOWLIST or MAIL_HOST_ALLOWLIST
  'host_not_allowed',
  'internal',
  // Tokens and the identity platform (AADSTS meanings in domain/tokens/aadsts.ts)
  'invalid_client_secret',
  'client_secret_expired',
  // Certificate and federated credentials: the client assertion was refused (AADSTS700027, 7000274, 700023,
  // 700021, 50027), not within its valid time (700024), or matched no federated credential (70021, 700211-700213);
  // the federated token file gave no token
  'client_assertion_invalid',
  'client_assertion_expired',
  'federated_credential_mismatch',
  'federated_token_unavailable',
  'application_not_found',
  'tenant_not_found',
  'tenant_required',
  'consent_required',
  // AADSTS7000229: the multi-tenant app has no service principal in a customer tenant (its admin never consented)
  'service_principal_missing',
  'invalid_scope',
  'redirect_uri_mismatch',
  'refresh_token_expired',
  'grant_revoked',
  'user_not_in_tenant',
  'malformed_token_request',
  'missing_permission',
  'identity_platform_unreachable',
  'identity_platform_tls_error',
  'identity_platform_timeout',
  'identity_platform_bad_response',
  'identity_platform_error',
  // Delegated sign-in
  'not_authorized',
  'wrong_account',
  'oauth_state_invalid',
  'oauth_denied',
  // The Microsoft sign-in provider
  'sign_in_disabled',
  'return_to_not_allowed',
  'id_token_invalid',
  'login_code_invalid',
  // A sign-in callback opened in a browser that did not start it (login CSRF): its binding cookie is missing or wrong
  'sign_in_not_bound',
  // Admin consent (POST /v1/connections/{id}/admin-consent): the administrator declined, or the account is no administrator
  'admin_consent_declined',
  'admin_consent_required',
  // Webhooks
  'webhook_url_invalid',
  'webhook_target_forbidden',
  'delivery_pending',
  // Mail servers: IMAP (adapters/imap/errors.ts) and SMTP (adapters/smtp/failure.ts)
  'imap_auth_failed',
  // A delegated shared mailbox refused the agent's token (IMAP AUTHENTICATE failed, SMTP 535): no Full Access
  'shared_mailbox_access_denied',
  'imap_not_connected',
  'imap_throttled',
  'imap_unreachable',
  'imap_tls_error',
  'imap_folder_not_found',
  // Acting on mail: the server refused a change (RFC 5530 codes OVERQUOTA, NOPERM, LIMIT, or their words),
  // or lacks what a safe change needs (UIDPLUS for a permanent delete that touches no other message)
  'imap_over_quota',
  'imap_permission_denied',
  'imap_limit_exceeded',
  'imap_unsupported',
  'imap_error',
  'smtp_auth_disabled',
  'smtp_auth_blocked',
  'smtp_auth_failed',
  'smtp_send_as_denied',
  // Exchange refused the From header the message was sent as (554 5.2.252 SendAsDenied)
  'send_as_denied',
  // The sending mailbox is over its quota (554 5.2.2): Sent Items count
  'smtp_mailbox_full',
  'smtp_recipient_rejected',
  'smtp_message_too_large',
  'smtp_rejected',
  'smtp_throttled',
  'smtp_unavailable',
  'smtp_tls_error',
  // Reading mail (domain/messages): the request names a folder or message that is not there, or one too large to serve
  'folder_not_found',
  'message_not_found',
  'message_too_large',
  'message_unparseable',
  'attachment_not_found',
  // Acting on mail (domain/messages/actions.ts): a folder to create already exists
  'folder_exists',
  // Sending (domain/sending): an Idempotency-Key reused with another request body
  'idempotency_mismatch',
  // DELETE /v1/send/{id} of a message already being sent, sent or failed
  'send_not_cancelable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
