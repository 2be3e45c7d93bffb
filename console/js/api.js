// The /v1 API from the browser, with the key of this tab's session. Paths are relative to the
// console's own URL (../v1/…), so a service behind a reverse proxy path works unchanged.
import { currentKey, signOut } from './session.js';

/** A problem document (RFC 9457) the API answered, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem ?? {};
  }
}

export function apiUrl(path) {
  return new URL(`../v1${path}`, document.baseURI).toString();
}

/** One call with an explicit key (the sign-in probes use it before the key is kept). */
export async function callWithKey(key, method, path, body, headers = {}) {
  let res;
  try {
    res = await fetch(apiUrl(path), {
      method,
      headers: { authorization: `Bearer ${key}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { title: 'The service did not answer', detail: 'Check the network, then try again.' });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** A call with this tab's key; a 401 ends the session (the key was revoked or mistyped). */
export async function api(method, path, body, headers) {
  const key = currentKey();
  if (!key) {
    signOut('Sign in with an API key.');
    throw new ApiError(401, { detail: 'Not signed in.' });
  }
  try {
    return await callWithKey(key, method, path, body, headers);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut('The service no longer accepts this API key (it was changed or revoked). Sign in again.');
    throw err;
  }
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
