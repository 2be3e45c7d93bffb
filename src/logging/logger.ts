/**
 * The pino logger every module receives (never imported as a global).
 * Every entry and every child's bindings pass through `redactFields` (secret
 * fields at any depth); errors are serialised with tokens scrubbed from their
 * message and stack; request logs carry the request id, method, scrubbed URL
 * and status, never headers or bodies.
 */
import { pino, stdSerializers, type Bindings, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';
import { redactFields, redactObject, scrubText, scrubUrl } from './redaction.js';

export type { Logger } from 'pino';

interface RequestLike {
  id?: unknown;
  method?: string;
  url?: string;
  ip?: string;
}

interface ReplyLike {
  statusCode?: number;
}

/** pino's error serializer, with tokens scrubbed from the message and stack and secret fields redacted. */
function serializeError(err: Error): Record<string, unknown> {
  if (!(err instanceof Error)) return redactFields(err, serializeError) as Record<string, unknown>;
  const out = stdSerializers.err(err) as unknown as Record<string, unknown>;
  // ioredis puts the failed command on its errors with every argument: stored records (addresses),
  // encrypted messages of megabytes, whole Lua scripts, once per refused request while Redis is
  // full. The command's name tells which one failed.
  if (typeof out.command === 'object' && out.command !== null) out.command = { name: (out.command as { name?: unknown }).name };
  if (typeof out.message === 'string') out.message = scrubText(out.message);
  if (typeof out.stack === 'string') out.stack = scrubText(out.stack);
  return redactFields(out, serializeError) as Record<string, unknown>;
}

const serializers = {
  err: serializeError,
  req: (req: RequestLike) => ({ id: req.id, method: req.method, url: scrubUrl(req.url ?? ''), ip: req.ip }),
  res: (res: ReplyLike) => ({ statusCode: res.statusCode }),
};

/** An entry's fields with secrets redacted; fields with a serializer are left to it (it keeps only what is safe). */
const redactEntry = (entry: Record<string, unknown>): Record<string, unknown> => redactObject(entry, serializeError, [], serializers);

export function createLogger(options: { level: LogLevel; name?: string }, destination?: DestinationStream): Logger {
  const logger = pino(
    {
      name: options.name ?? 'mailsync',
      level: options.level,
      serializers,
      // The root's bindings (`base`); pino does not pass a child's bindings to this formatter.
      formatters: {
        log: redactEntry,
        bindings: (bindings) => redactFields(bindings, serializeError) as Record<string, unknown>,
      },
      base: { pid: process.pid },
    },
    destination,
  );
  // A child's bindings are redacted here. Children are made with Object.create(parent), so
  // they and their own children inherit this method.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redactFields(bindings, serializeError) as Bindings, childOptions);
  } as Logger['child'];
  return logger;
}
