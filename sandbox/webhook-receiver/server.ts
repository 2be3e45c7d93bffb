/**
 * A webhook endpoint for tests and the demo: records every delivery, checks its Standard
 * Webhooks signature, and misbehaves on demand (fails, hangs, is slow, redirects, or answers
 * with a body too big to read).
 *
 * What it answers, first match wins:
 *   body over maxBodyBytes → 413; hang → nothing; bad signature → 401;
 *   failTimes > 0 → failStatus; redirectTo → redirectStatus + Location;
 *   hugeBodyBytes > 0 → 200 with that many bytes; otherwise `status`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { flatHeaders, verifyDelivery } from './verify.js';

export interface WebhookReceiverBehaviour {
  /** Answer the next N (verified) deliveries with `failStatus`. */
  failTimes: number;
  failStatus: number;
  /** Read the request, record it, never answer (sockets are closed by close()). */
  hang: boolean;
  /** Wait this long before answering. */
  delayMs: number;
  /** Answer 200 with a body of this many bytes, streamed; Infinity: endless. 0: off. */
  hugeBodyBytes: number;
  redirectTo: string | null;
  redirectStatus: 301 | 302 | 303 | 307 | 308;
  /** Status of a normal answer. */
  status: number;
}

export interface ReceivedDelivery {
  /** `webhook-id` header. */
  id: string | null;
  /** `webhook-timestamp` header: Unix seconds. */
  timestamp: number | null;
  /** `type` of the JSON body. */
  type: string | null;
  /** The parsed JSON body (undefined when it is not JSON). */
  body: unknown;
  rawBody: Buffer;
  headers: Record<string, string>;
  verified: boolean;
  verifyError?: string;
  method: string;
  /** Request path with its query string. */
  path: string;
  /** What the receiver answers (after delayMs), null when it hangs. */
  status: number | null;
  at: Date;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:PORT (any path is accepted). */
  url: string;
  /** `whsec_…` secrets; several during a rotation. Kept by reset(). */
  setSecrets(secrets: string[]): void;
  received: ReceivedDelivery[];
  /** Resolves with the first delivery, already received or to come, that matches. */
  waitFor(predicate: (d: ReceivedDelivery) => boolean, timeoutMs?: number): Promise<ReceivedDelivery>;
  setBehaviour(b: Partial<WebhookReceiverBehaviour>): void;
  getBehaviour(): WebhookReceiverBehaviour;
  /** Forgets deliveries and restores the default behaviour. */
  reset(): void;
  /**
   * Goes down: stops listening and cuts open connections (senders see refused
   * connections), keeping deliveries, secrets and behaviour, for resume().
   */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export interface StartWebhookReceiverOptions {
  /** 0 (default): any free port. */
  port?: number;
  /** Largest request body accepted (default 1 MiB); a larger one gets 413. */
  maxBodyBytes?: number;
  secrets?: string[];
}

const MiB = 1024 * 1024;
// A body over the limit is still read (and dropped) up to this much, so that the client
// sees the 413 instead of a reset connection; past it the socket is destroyed.
const DISCARD_LIMIT = 64 * MiB;
const HUGE_CHUNK = Buffer.alloc(64 * 1024, 'x');

interface Plan {
  status: number | null;
  delayMs: number;
  location?: string;
  hugeBytes?: number;
}

function defaultBehaviour(): WebhookReceiverBehaviour {
  return {
    failTimes: 0,
    failStatus: 500,
    hang: false,
    delayMs: 0,
    hugeBodyBytes: 0,
    redirectTo: null,
    redirectStatus: 307,
    status: 200,
  };
}

/** Reads the body up to `limit` bytes; `tooLarge` when there was more. */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > DISCARD_LIMIT) req.destroy();
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge: size > limit }));
    req.on('error', reject);
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...extra });
  res.end(JSON.stringify(body));
}

/** Streams `bytes` bytes (chunked, no Content-Length), honouring backpressure, until the client goes away. */
async function streamHugeBody(res: ServerResponse, bytes: number): Promise<void> {
  let gone = false;
  res.once('close', () => {
    gone = true;
  });
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  let left = bytes;
  while (left > 0 && !gone) {
    const chunk = left >= HUGE_CHUNK.length ? HUGE_CHUNK : HUGE_CHUNK.subarray(0, left);
    left -= chunk.length;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!gone) res.end();
}

export async function startWebhookReceiver(opts: StartWebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const maxBodyBytes = opts.maxBodyBytes ?? MiB;
  let secrets = [...(opts.secrets ?? [])];
  let behaviour = defaultBehaviour();
  const received: ReceivedDelivery[] = [];
  let waiters: ((d: ReceivedDelivery) => void)[] = [];
  const sockets = new Set<Socket>();

  /**
   * Decides the whole answer when the request is in, so that a behaviour changed while the
   * answer is delayed does not mix two behaviours. Consumes failTimes. Status null: hang.
   */
  const plan = (tooLarge: boolean, verified: boolean): Plan => {
    const { delayMs } = behaviour;
    if (tooLarge) return { status: 413, delayMs };
    if (behaviour.hang) return { status: null, delayMs };
    if (!verified) return { status: 401, delayMs };
    if (behaviour.failTimes > 0) {
      behaviour.failTimes -= 1;
      return { status: behaviour.failStatus, delayMs };
    }
    if (behaviour.redirectTo) return { status: behaviour.redirectStatus, location: behaviour.redirectTo, delayMs };
    if (behaviour.hugeBodyBytes > 0) return { status: 200, hugeBytes: behaviour.hugeBodyBytes, delayMs };
    return { status: behaviour.status, delayMs };
  };

  const answer = async (res: ServerResponse, p: Plan, verifyError: string | undefined): Promise<void> => {
    if (p.status === null) return; // hang: the socket stays open until the client or close() ends it
    if (p.delayMs > 0) await sleep(p.delayMs);
    if (res.destroyed) return;
    if (p.status === 413) return sendJson(res, 413, { error: `body over ${maxBodyBytes} bytes` }, { connection: 'close' });
    if (p.status === 401) return sendJson(res, 401, { error: 'invalid signature', detail: verifyError });
    if (p.location !== undefined) {
      res.writeHead(p.status, { location: p.location });
      return void res.end();
    }
    if (p.hugeBytes !== undefined) return streamHugeBody(res, p.hugeBytes);
    sendJson(res, p.status, p.status < 300 ? { ok: true } : { error: 'failing on purpose' });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { body: rawBody, tooLarge } = await readBody(req, maxBodyBytes);
    const headers = flatHeaders(req.headers);
    const check = tooLarge
      ? { verified: false as const, reason: `body over ${maxBodyBytes} bytes` }
      : verifyDelivery(secrets, rawBody, headers);
    const body = parseJson(rawBody);
    const type = (body as { type?: unknown } | undefined)?.type;
    const timestamp = Number.parseInt(headers['webhook-timestamp'] ?? '', 10);
    const answerPlan = plan(tooLarge, check.verified);
    const delivery: ReceivedDelivery = {
      id: headers['webhook-id'] ?? null,
      timestamp: Number.isNaN(timestamp) ? null : timestamp,
      type: typeof type === 'string' ? type : null,
      body,
      rawBody,
      headers,
      verified: check.verified,
      ...(check.verified ? {} : { verifyError: check.reason }),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: answerPlan.status,
      at: new Date(),
    };
    received.push(delivery);
    for (const waiter of waiters) waiter(delivery);
    await answer(res, answerPlan, delivery.verifyError);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (at: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const shut = async (): Promise<void> => {
    if (!server.listening) return;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    // Hanging requests and endless bodies would keep close() waiting forever.
    for (const socket of sockets) socket.destroy();
    await done;
  };
  await listen(opts.port ?? 0);
  const { port } = server.address() as AddressInfo;
  let closed = false;

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    setSecrets(next) {
      secrets = [...next];
    },
    waitFor(predicate, timeoutMs = 10_000) {
      const found = received.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (d: ReceivedDelivery): void => {
          if (!predicate(d)) return;
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== waiter);
          resolve(d);
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`webhook receiver: no matching delivery in ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    setBehaviour(b) {
      behaviour = { ...behaviour, ...b };
    },
    getBehaviour: () => ({ ...behaviour }),
    reset() {
      received.length = 0;
      behaviour = defaultBehaviour();
    },
    pause: shut,
    async resume() {
      if (closed || server.listening) return;
      await listen(port);
    },
    async close() {
      closed = true;
      await shut();
    },
  };
}
