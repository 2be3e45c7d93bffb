/**
 * The JSON body parser of a route that takes large base64 fields (POST /v1/send): the body is
 * read as it streams in and its long base64 strings are decoded on the way (http/lifted-json.ts),
 * within the route's body limit and the process's byte budget (http/body-budget.ts).
 *
 * - A Content-Length over the limit is a 413 before a byte is read; a body that grows past it
 *   (chunked, or longer than announced) is a 413 when it does.
 * - A body takes its share of the budget when it starts (its Content-Length) or as it arrives
 *   (chunked); without room it is a 503 `server_busy` with Retry-After. The share is given back
 *   when the answer has gone (or the connection closed), after the handler stored the bytes.
 * - On a refusal the parser stops reading: Node discards the rest of the body once the answer
 *   is sent, instead of holding it.
 * - The lifted bytes are on `request.liftedParts`, by the placeholder left in the body.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../errors/errors.js';
import type { BodyBudget, BodyShare } from '../body-budget.js';
import { LiftingScanner, parseLifted, type JsonPath, type LiftedBytes } from '../lifted-json.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The base64 strings decoded while the body streamed in, by their placeholders (lifted-json-body.ts). */
    liftedParts?: Map<string, LiftedBytes>;
    bodyShare?: BodyShare;
  }
}

export interface LiftedJsonOptions {
  bodyLimitBytes: number;
  budget: BodyBudget;
  /** Strings of at least this many base64 characters are decoded as they arrive. */
  minLength: number;
  /** Where decoded bytes are wanted (other lifted strings are put back as text). */
  keep: (path: JsonPath) => boolean;
  /** The Retry-After of a refusal for lack of budget (s). */
  retryAfterSeconds: number;
}

/** Installs the parser in the (encapsulated) context of `app`: its routes only. */
export function installLiftedJson(app: FastifyInstance, options: LiftedJsonOptions): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.once('close', () => request.bodyShare?.release());
    done();
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', (request, payload, done) => {
    readLifted(request, payload, options).then((body) => done(null, body), (err: Error) => done(err, undefined));
  });
}

const tooLarge = (limit: number): AppError =>
  new AppError('payload_too_large', `The request body is larger than this route accepts (${limit} bytes).`, { fields: { limitBytes: limit } });

const busy = (options: LiftedJsonOptions): AppError =>
  new AppError('server_busy', 'This API process holds as many large request bodies as it may at once.', {
    hint: 'Send again after the Retry-After seconds; the limit is SEND_BODY_BUDGET_BYTES per API process.',
    fields: { retryAfterSeconds: options.retryAfterSeconds, budgetBytes: options.budget.limitBytes },
  });

function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(header)) throw new AppError('validation_failed', 'Content-Length is not a number of bytes.');
  return Number(header);
}

function readLifted(request: FastifyRequest, payload: NodeJS.ReadableStream, options: LiftedJsonOptions): Promise<unknown> {
  const limit = options.bodyLimitBytes;
  let declared: number | undefined;
  try {
    declared = declaredLength(request.headers['content-length']);
  } catch (err) {
    return Promise.reject(err);
  }
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(limit));
  const share = options.budget.take(declared ?? 0);
  if (!share) return Promise.reject(busy(options));
  request.bodyShare = share;
  // A body shorter than `minLength` cannot hold a string to lift: it is parsed as it is, without
  // the scanner's look at every byte (most messages are a few kilobytes).
  let held: Buffer[] = [];
  let scanner: LiftingScanner | undefined;
  let received = 0;
  return new Promise((resolve, reject) => {
    const stop = (err: unknown): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', stop);
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) return stop(tooLarge(limit));
      if (declared === undefined && !share.grow(chunk.length)) return stop(busy(options));
      try {
        if (scanner) {
          scanner.write(chunk);
        } else {
          held.push(chunk);
          if (received >= options.minLength) {
            scanner = new LiftingScanner(options.minLength, randomBytes(9).toString('base64url'));
            for (const piece of held) scanner.write(piece);
            held = [];
          }
        }
      } catch (err) {
        stop(err);
      }
    };
    const onEnd = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('error', stop);
      if (declared !== undefined && received !== declared) {
        reject(new AppError('validation_failed', `The body is ${received} bytes; its Content-Length said ${declared}.`));
        return;
      }
      try {
        const parts = scanner?.parts ?? new Map<string, LiftedBytes>();
        const body = parseLifted(scanner ? scanner.end() : Buffer.concat(held).toString('utf8'), parts, options.keep);
        if (parts.size > 0) request.liftedParts = parts;
        resolve(body);
      } catch (err) {
        reject(err);
      }
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', stop);
  });
}
