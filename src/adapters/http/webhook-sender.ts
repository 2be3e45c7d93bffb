/**
 * Webhook POSTs over undici, bounded in every direction:
 * - time: one budget (`timeoutMs`) for connect, send and response headers;
 *   once a status is in, the body gets what is left of it;
 * - size: at most `maxResponseBytes` (64 KiB) of a response body is read,
 *   then the connection is dropped; `keptResponseBytes` (1 KiB) are kept;
 * - redirects are not followed (undici does not by default): a 3xx is
 *   reported with its Location and counts as a failure;
 * - addresses: IP literals are checked here and host names by the guarded
 *   lookup on every new connection, against the address policy (with private
 *   networks allowed, it still refuses the cloud platform's endpoints).
 *   No proxy is used, even when HTTPS_PROXY is set: a proxy would resolve the
 *   name itself, out of the guard's sight.
 */
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { STRICT_ADDRESS_POLICY, type AddressPolicy } from '../../domain/webhooks/address-policy.js';
import type { OutboundRequest, SendResult, WebhookSender } from '../../domain/webhooks/sender.js';
import { hostOf, type Resolver } from '../../domain/webhooks/url-policy.js';
import { guardedLookup, systemResolver, TARGET_FORBIDDEN } from './guarded-lookup.js';

export interface UndiciWebhookSenderOptions {
  timeoutMs: number;
  /** Which addresses deliveries may reach. @defaultValue STRICT_ADDRESS_POLICY */
  addresses?: AddressPolicy;
  /** How host names are resolved (tests inject one). @defaultValue the system resolver */
  resolve?: Resolver;
  /** @defaultValue 65 536 */
  maxResponseBytes?: number;
  /** @defaultValue 1 024 */
  keptResponseBytes?: number;
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_ABORTED') return code;
  }
  return undefined;
}

/** Reads at most `max` bytes, keeps the first `keep`, and drops the connection when there is more. */
async function readBounded(body: Readable, max: number, keep: number): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (keptBytes < keep) {
        const part = chunk.subarray(0, keep - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      if (total >= max) {
        body.destroy();
        break;
      }
    }
  } catch {
    // A body that breaks off or outlives the budget: the status is what counts.
  }
  return Buffer.concat(kept).toString('utf8');
}

export class UndiciWebhookSender implements WebhookSender {
  private readonly agent: Agent;
  private readonly maxResponseBytes: number;
  private readonly keptResponseBytes: number;
  private readonly addresses: AddressPolicy;

  constructor(private readonly options: UndiciWebhookSenderOptions) {
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
    this.keptResponseBytes = options.keptResponseBytes ?? 1024;
    this.addresses = options.addresses ?? STRICT_ADDRESS_POLICY;
    this.agent = new Agent({
      connect: {
        timeout: options.timeoutMs,
        lookup: guardedLookup(options.resolve ?? systemResolver, this.addresses),
      },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 30_000,
    });
  }

  async send(outbound: OutboundRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const url = new URL(outbound.url);
    const host = hostOf(url);
    if (isIP(host) !== 0) {
      const verdict = this.addresses.judge(host);
      if (!verdict.allowed) {
        return { kind: 'error', code: 'target_forbidden', detail: `${host} is a ${verdict.reason} address`, durationMs: elapsed() };
      }
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    try {
      const res = await request(url, {
        dispatcher: this.agent,
        method: 'POST',
        headers: outbound.headers,
        body: outbound.body,
        signal: controller.signal,
      });
      const location = res.statusCode >= 300 && res.statusCode < 400 ? String(res.headers.location ?? '') || null : null;
      const body = await readBounded(res.body, this.maxResponseBytes, this.keptResponseBytes);
      return { kind: 'response', status: res.statusCode, location, body, durationMs: elapsed() };
    } catch (err) {
      if (timedOut) {
        return { kind: 'error', code: 'timeout', detail: `no answer within ${this.options.timeoutMs} ms`, durationMs: elapsed() };
      }
      const code = errorCode(err);
      if (code === TARGET_FORBIDDEN) {
        return { kind: 'error', code: 'target_forbidden', detail: (err as Error).message, durationMs: elapsed() };
      }
      const message = err instanceof Error ? err.message : String(err);
      return { kind: 'error', code: 'network', detail: code ? `${code}: ${message}` : message, durationMs: elapsed() };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}
