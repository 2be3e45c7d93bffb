/**
 * The pino logger every module receives (never imported as a global).
 * Redaction is on for every secret-bearing field; request logs carry the
 * request id, method, scrubbed URL and status, never headers or bodies.
 */
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';
import { REDACT_PATHS, scrubText, scrubUrl } from './redaction.js';

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

/** pino's error serializer, with tokens scrubbed from the message and stack. */
function serializeError(err: Error): Record<string, unknown> {
  const out = stdSerializers.err(err) as unknown as Record<string, unknown>;
  if (typeof out.message === 'string') out.message = scrubText(out.message);
  if (typeof out.stack === 'string') out.stack = scrubText(out.stack);
  return out;
}

export function createLogger(options: { level: LogLevel; name?: string }, destination?: DestinationStream): Logger {
  return pino(
    {
      name: options.name ?? 'mailsync',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      serializers: {
        err: serializeError,
        req: (req: RequestLike) => ({ id: req.id, method: req.method, url: scrubUrl(req.url ?? ''), ip: req.ip }),
        res: (res: ReplyLike) => ({ statusCode: res.statusCode }),
      },
      base: { pid: process.pid },
    },
    destination,
  );
}
