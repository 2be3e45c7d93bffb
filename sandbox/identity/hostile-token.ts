/**
 * Writes a hostile token endpoint answer (see HostileTokenAnswer in
 * faults.ts) in place of the real one. The two "missing field" modes start
 * from the real reply, so everything else in them is genuine.
 */
import type { ServerResponse } from 'node:http';
import type { Reply } from './context.js';
import type { HostileTokenAnswer } from './faults.js';

const DEFAULT_HUGE_BYTES = 8 * 1024 * 1024;
const DEFAULT_DRIP_MS = 2_000;
const CHUNK = 64 * 1024;

function writeJson(res: ServerResponse, status: number, body: object): number {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(payload)) }).end(payload);
  return status;
}

/** Streams `bytes` of one JSON string value, respecting back-pressure, stopping if the client goes away. */
function writeHuge(res: ServerResponse, bytes: number, declareLength: boolean): void {
  const head = '{"access_token":"';
  const tail = '","token_type":"Bearer","expires_in":3599}';
  const filler = Math.max(0, bytes - head.length - tail.length);
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    ...(declareLength ? { 'content-length': String(head.length + filler + tail.length) } : {}),
  });
  res.write(head);
  let left = filler;
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      const n = Math.min(CHUNK, left);
      left -= n;
      if (!res.write('A'.repeat(n))) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end(tail);
  };
  pump();
}

/** Headers now, then a byte every `intervalMs`: each gap is short enough to defeat a per-read idle timeout. */
function writeDrip(res: ServerResponse, intervalMs: number): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.write('{');
  const timer = setInterval(() => res.write(' '), intervalMs);
  res.on('close', () => clearInterval(timer));
}

/** Answers with the hostile mode; `real` is what the endpoint would have answered. Returns the status sent. */
export function writeHostileTokenAnswer(res: ServerResponse, answer: HostileTokenAnswer, real: Reply): number {
  switch (answer.kind) {
    case 'non_json':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!DOCTYPE html><html><body><h1>Proxy authentication required</h1><form method="post"></form></body></html>');
      return 200;
    case 'missing_access_token':
    case 'missing_expires_in': {
      if (real.kind !== 'json' || real.status !== 200) return writeJson(res, real.kind === 'json' ? real.status : 500, real.kind === 'json' ? real.body : {});
      const body: Record<string, unknown> = { ...real.body };
      delete body[answer.kind === 'missing_access_token' ? 'access_token' : 'expires_in'];
      return writeJson(res, 200, body);
    }
    case 'huge':
      writeHuge(res, answer.bytes ?? DEFAULT_HUGE_BYTES, answer.declareLength ?? false);
      return 200;
    case 'drip':
      writeDrip(res, answer.intervalMs ?? DEFAULT_DRIP_MS);
      return 200;
  }
}
