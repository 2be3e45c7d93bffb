/** Every stable error code the service can answer with. */
export const ERROR_CODES = [
  'config_invalid',
  'validation_failed',
  'invalid_json',
  'unsupported_media_type',
  'payload_too_large',
  'unauthorized',
  'not_found',
  'route_not_found',
  'method_not_allowed',
  'conflict',
  'dependency_unavailable',
  'decryption_failed',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
