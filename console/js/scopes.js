// Which scopes a key has (config/api-keys.ts on the service): there is no endpoint that says,
// so each scope is asked with one cheap request that the key check answers before any data is
// read: 401 = no such key, 403 = the key lacks this scope, anything else = allowed. The ids
// below are well formed and absent, so an allowed request is a 404 that touched nothing.
import { ApiError, callWithKey } from './api.js';

const PROBES = [
  { scope: 'admin', path: '/connections?limit=1' },
  { scope: 'send', path: '/send/snd_AAAAAAAAAAAAAAAA' },
  { scope: 'read', path: '/mailboxes/mbx_AAAAAAAAAAAAAAAA/folders' },
];

/** The console's scopes of `key`; throws ApiError 401 for a key the service does not know. */
export async function probeScopes(key) {
  const scopes = new Set();
  for (const { scope, path } of PROBES) {
    try {
      await callWithKey(key, 'GET', path);
      scopes.add(scope);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 401 || err.status === 0) throw err;
      if (err.status !== 403) scopes.add(scope);
    }
  }
  return scopes;
}
