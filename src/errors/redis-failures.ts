/**
 * How a Redis failure looks when it reaches the classifier: ioredis's errors recognised by their
 * shape (codes, names, Redis's reply text), without importing ioredis. classify.ts turns what these
 * recognise into `dependency_unavailable` and `storage_full`; everything else about Redis stays in
 * the store layer.
 */
/** Network failures of Redis and other dependencies, recognised by their codes. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

export function isRedisUnavailable(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  // ioredis: "Connection is closed.", "Stream isn't writeable and enableOfflineQueue options is false",
  // and MaxRetriesPerRequestError when it gave up reconnecting for a command.
  return err.name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable/.test(err.message);
}

const REDIS_OOM = /\bOOM command not allowed\b/;

/**
 * Redis at its maxmemory (noeviction) refusing a write: "OOM command not allowed when used memory >
 * 'maxmemory'.", an ioredis ReplyError. It also comes wrapped: inside a transaction as the
 * `previousErrors` of an "EXECABORT Transaction discarded", as a Lua script's error (the script's
 * position appended; "ERR Error running script … -OOM …" before Redis 7), or as the `cause` of
 * another error. Only ReplyErrors count: a mail server's words never make this 503.
 */
export function isRedisOutOfMemory(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  if (err.name === 'ReplyError' && REDIS_OOM.test(err.message)) return true;
  const { previousErrors, errors } = err as { previousErrors?: unknown; errors?: unknown };
  const inner = [err.cause, ...(Array.isArray(previousErrors) ? previousErrors : []), ...(Array.isArray(errors) ? errors : [])];
  return inner.some((e) => isRedisOutOfMemory(e, depth + 1));
}
