/** The REST API as the fault suite's clients use it: bearer key, JSON, a bounded wait per request. */
import { TEST_API_KEY } from '../support/app.js';

export interface ApiAnswer<T = Record<string, unknown>> {
  /** 0: no answer (connection refused, reset, timed out). */
  status: number;
  json: T;
  error?: string;
}

export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<ApiAnswer<T>> {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json = {} as T;
    try {
      json = (text ? JSON.parse(text) : {}) as T;
    } catch {
      json = { raw: text } as T;
    }
    return { status: res.status, json };
  } catch (err) {
    return { status: 0, json: {} as T, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

/** The first answer that is not "no answer" or 5xx, trying each API in turn, for up to `timeoutMs`. */
export async function callAny<T = Record<string, unknown>>(
  bases: () => string[],
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<ApiAnswer<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: ApiAnswer<T> = { status: 0, json: {} as T, error: 'not tried' };
  for (let i = 0; ; i++) {
    const list = bases();
    last = await call<T>(list[i % list.length]!, method, path, body);
    if (last.status !== 0 && last.status < 500) return last;
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
}
