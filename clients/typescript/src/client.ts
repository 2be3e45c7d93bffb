/**
 * The typed client: openapi-fetch over the generated `paths`, with the API key the service asks
 * for (`Authorization: Bearer <key>`, one of its API_KEYS) on every request. Methods are the
 * HTTP verbs, paths and bodies are checked against the OpenAPI document:
 *
 *     const { data, error } = await client.GET('/v1/mailboxes/{id}', { params: { path: { id } } });
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';

export type MailsyncClient = Client<paths>;

export interface MailsyncClientOptions {
  /** The service's address, without `/v1` (e.g. `https://mailsync.example.com`). */
  baseUrl: string;
  /** One of the service's API_KEYS. Sent only in the Authorization header, never logged. */
  apiKey: string;
  /** The fetch to use (a test double, a proxy agent's); default: the global fetch. */
  fetch?: typeof globalThis.fetch;
}

export function createMailsyncClient({ baseUrl, apiKey, fetch }: MailsyncClientOptions): MailsyncClient {
  // Say so now rather than answer every call with a 401.
  if (apiKey.trim() === '') throw new TypeError('createMailsyncClient: apiKey is empty');
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${apiKey}` },
    ...(fetch ? { fetch } : {}),
  });
}
