/**
 * MSAL's HTTP client (`system.networkClient`), built on undici 7: a custom CA,
 * an optional proxy, timeouts and a bounded response body.
 *
 * How MSAL Node 7 treats what this module throws (read in msal-common 16):
 * - Token endpoint POSTs: an `AuthError` is rethrown to the caller unchanged;
 *   any other error is replaced by a bare `network_error` that loses the cause.
 *   So every failure here is an `MsalHttpError` (an `AuthError`) carrying the
 *   original undici/Node error in `cause`.
 * - OpenID configuration GETs (the first request of an authority): MSAL
 *   swallows every error and every non-metadata body and reports only
 *   `openid_config_error` / `endpoints_resolution_error`. The client therefore
 *   remembers recent failures (`lastFailure`), so the service can still name
 *   the real cause (connection refused, TLS, or Entra's AADSTS90002 body).
 * - A non-JSON or non-object body is thrown as `token_parsing_error`, the code
 *   MSAL's own HttpClient uses, with the status, content type and the start
 *   of the body in the message. Returning it wrapped would let MSAL report a
 *   ServerError that looks like Entra's answer, which it is not.
 *
 * Nothing happens at import: the agent is created by the factory.
 */
import { rootCertificates } from 'node:tls';
import { AuthError } from '@azure/msal-node';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { Agent, ProxyAgent, request } from 'undici';
import type { Dispatcher } from 'undici';

export interface MsalNetworkClientOptions {
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  caPem?: string[];
  /** http(s)://host:port of a forward proxy; HTTPS goes through CONNECT. */
  proxyUrl?: string;
  /** Connect, headers and body (idle) timeout each, in ms; the whole exchange gets exchangeDeadlineMs(it). Default 10 s. */
  timeoutMs?: number;
  /** Largest accepted response body in bytes. Default 1 MiB. */
  maxResponseBytes?: number;
}

/** What went wrong, as the service will want to name it. */
export type MsalHttpErrorKind = 'network' | 'tls' | 'timeout' | 'too_large' | 'bad_response';

export class MsalHttpError extends AuthError {
  readonly kind: MsalHttpErrorKind;
  readonly url: string;
  readonly status: number | undefined;

  constructor(init: { kind: MsalHttpErrorKind; url: string; message: string; status?: number; cause?: unknown }) {
    // `network_error` is MSAL's own code for transport failures; `token_parsing_error` for unreadable bodies.
    super(init.kind === 'bad_response' ? 'token_parsing_error' : 'network_error', '', init.message);
    Object.setPrototypeOf(this, new.target.prototype); // AuthError resets the prototype to its own
    this.name = 'MsalHttpError';
    this.kind = init.kind;
    this.url = init.url;
    this.status = init.status;
    if (init.cause !== undefined) this.cause = init.cause;
  }
}

/** A failed exchange: a thrown error, or an HTTP error status with Entra's error fields. */
export interface NetworkFailure {
  method: 'GET' | 'POST';
  url: string;
  at: number;
  error?: MsalHttpError;
  status?: number;
  entra?: { error?: string; errorCodes?: number[]; description?: string };
}

export type MsalNetworkClient = INetworkModule & {
  /** The most recent failure, optionally only for URLs starting with `urlPrefix`. */
  lastFailure(urlPrefix?: string): NetworkFailure | undefined;
  close(): Promise<void>;
};

const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * The deadline of a whole exchange: connect, headers and body phases, plus
 * a second, because undici's own timers tick at about that resolution and
 * its timeouts, which name the phase that hung, should win where they apply.
 * undici's body timeout is an idle timeout, reset by every chunk: without
 * this deadline, a server dripping a byte every few seconds would hold a
 * token request (and the API request or poll waiting on it) forever.
 */
export function exchangeDeadlineMs(timeoutMs: number): number {
  return timeoutMs * 3 + 1_000;
}
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const FAILURES_KEPT = 32;

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO',
]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'UND_ERR_ABORTED',
]);

/**
 * The most specific string `code` walking `err`, `err.cause`, …: undici wraps
 * socket errors (UND_ERR_SOCKET) around the Node error that names the cause.
 */
export function causeCode(err: unknown): string | undefined {
  let first: string | undefined;
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (code !== 'UND_ERR_SOCKET') return code;
      first ??= code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return first;
}

function kindOf(err: unknown): MsalHttpErrorKind {
  const code = causeCode(err) ?? '';
  const name = (err as { name?: unknown } | undefined)?.name;
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'tls';
  if (TIMEOUT_CODES.has(code) || name === 'TimeoutError') return 'timeout';
  return 'network';
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function entraFields(body: Record<string, unknown>): NetworkFailure['entra'] {
  const codes = Array.isArray(body.error_codes) ? body.error_codes.map(Number).filter(Number.isFinite) : undefined;
  return {
    error: typeof body.error === 'string' ? body.error : undefined,
    errorCodes: codes,
    description: typeof body.error_description === 'string' ? body.error_description : undefined,
  };
}

async function readBounded(body: Dispatcher.ResponseData['body'], max: number, url: string, status: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new MsalHttpError({ kind: 'too_large', url, status, message: `response body of ${url} exceeds ${max} bytes` });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseBody(raw: Buffer, url: string, status: number, contentType: string | undefined): Record<string, unknown> {
  const text = raw.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  const snippet = text.slice(0, 200).replace(/\s+/g, ' ');
  throw new MsalHttpError({
    kind: 'bad_response',
    url,
    status,
    message: `HTTP ${status} from ${url} is not a JSON object (content-type: ${contentType ?? 'none'}): ${snippet || '(empty body)'}`,
  });
}

export function createMsalNetworkClient(options: MsalNetworkClientOptions = {}): MsalNetworkClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadlineMs = exchangeDeadlineMs(timeoutMs);
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const ca = [...rootCertificates, ...(options.caPem ?? [])];
  const dispatcher: Dispatcher = options.proxyUrl
    ? new ProxyAgent({ uri: options.proxyUrl, requestTls: { ca, timeout: timeoutMs }, connect: { timeout: timeoutMs } })
    : new Agent({ connect: { ca, timeout: timeoutMs } });
  const failures: NetworkFailure[] = [];

  function remember(failure: NetworkFailure): void {
    failures.push(failure);
    if (failures.length > FAILURES_KEPT) failures.shift();
  }

  async function send<T>(method: 'GET' | 'POST', url: string, opts?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        dispatcher,
        headers: opts?.headers ?? {},
        body: method === 'POST' ? (opts?.body ?? '') : undefined,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // A hard deadline for the whole exchange; MSAL passes a shorter one for a few GETs (region discovery).
        signal: AbortSignal.timeout(timeout && timeout < deadlineMs ? timeout : deadlineMs),
      });
    } catch (err) {
      const kind = kindOf(err);
      const reason = err instanceof Error ? err.message : String(err);
      const error = new MsalHttpError({
        kind,
        url,
        cause: err,
        message: `${method} ${url} failed (${causeCode(err) ?? kind}): ${reason}`,
      });
      remember({ method, url, at: Date.now(), error });
      throw error;
    }
    const headers = flattenHeaders(response.headers);
    const status = response.statusCode;
    try {
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        response.body.destroy();
        throw new MsalHttpError({ kind: 'too_large', url, status, message: `response body of ${url} declares ${declared} bytes, more than ${maxBytes}` });
      }
      const raw = await readBounded(response.body, maxBytes, url, status);
      const body = parseBody(raw, url, status, headers['content-type']);
      if (status >= 400) remember({ method, url, at: Date.now(), status, entra: entraFields(body) });
      return { headers, body: body as T, status };
    } catch (err) {
      const error = err instanceof MsalHttpError
        ? err
        : new MsalHttpError({ kind: kindOf(err), url, status, cause: err, message: `${method} ${url}: reading the response failed (${causeCode(err) ?? 'error'})` });
      remember({ method, url, at: Date.now(), status, error });
      throw error;
    }
  }

  return {
    sendGetRequestAsync: <T>(url: string, opts?: NetworkRequestOptions, timeout?: number) => send<T>('GET', url, opts, timeout),
    sendPostRequestAsync: <T>(url: string, opts?: NetworkRequestOptions) => send<T>('POST', url, opts),
    lastFailure(urlPrefix?: string): NetworkFailure | undefined {
      for (let i = failures.length - 1; i >= 0; i--) {
        const failure = failures[i];
        if (failure && (!urlPrefix || failure.url.startsWith(urlPrefix))) return failure;
      }
      return undefined;
    },
    close: () => dispatcher.close(),
  };
}
