/**
 * API_KEYS: comma-separated bearer keys for /v1, each with every scope, or
 * limited to some: `send+read:<key>`. A scope names the routes a key may use:
 *
 * - `admin`: connections, mailboxes (and their sign-in, doctor and polling
 *   controls), webhooks: every /v1 route no other scope names;
 * - `send`: POST /v1/send and GET /v1/send/{id};
 * - `read`: GET /v1/mailboxes/{id}/messages… and GET /v1/mailboxes/{id}/folders;
 * - `modify`: acting on mail: flags, move, delete, bulk actions (…/messages/{uid},
 *   …/messages/actions) and POST /v1/mailboxes/{id}/folders;
 * - `login`: POST /v1/login/exchange (the sign-in provider's code exchange);
 * - `metrics`: GET /metrics, when METRICS_REQUIRE_API_KEY is set.
 *
 * An entry whose text before the first `:` is made of lower-case words
 * joined by `+` is read as scopes (an unknown one is a configuration error,
 * so a typo never widens a key); anything else is a key with every scope.
 */
import { EnvValueError } from './env-spec.js';

export const API_KEY_SCOPES = ['admin', 'send', 'read', 'modify', 'login', 'metrics'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKey {
  key: string;
  scopes: ReadonlySet<ApiKeyScope>;
}

const SCOPE_LIST = /^[a-z]+(\+[a-z]+)*$/;
const isScope = (word: string): word is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(word);

export function parseApiKey(entry: string): ApiKey {
  const colon = entry.indexOf(':');
  const prefix = colon === -1 ? '' : entry.slice(0, colon);
  if (!SCOPE_LIST.test(prefix)) return { key: entry, scopes: new Set(API_KEY_SCOPES) };
  const words = prefix.split('+');
  const unknown = words.find((word) => !isScope(word));
  if (unknown !== undefined) {
    throw new EnvValueError(`names an unknown scope "${unknown}" (scopes: ${API_KEY_SCOPES.join(', ')}; write scope+scope:key)`);
  }
  return { key: entry.slice(colon + 1), scopes: new Set(words.filter(isScope)) };
}
