// The API key of this tab: kept in sessionStorage (gone when the tab closes, never sent
// anywhere but this service's /v1 API), and the scopes it was found to have at sign-in.
const KEY = 'mailsync.apiKey';
const SCOPES = 'mailsync.scopes';
const listeners = new Set();

export const currentKey = () => sessionStorage.getItem(KEY);

export function currentScopes() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(SCOPES) ?? '[]'));
  } catch {
    return new Set();
  }
}

export const can = (scope) => currentScopes().has(scope);

export function signIn(key, scopes) {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(SCOPES, JSON.stringify([...scopes]));
}

/** Forgets the key and everything this tab kept, and tells the app why (shown on the sign-in form). */
export function signOut(reason) {
  const had = currentKey() !== null;
  sessionStorage.clear();
  if (had || reason) for (const listener of listeners) listener(reason);
}

export function onSignOut(listener) {
  listeners.add(listener);
}

/** This tab's other state (no secrets): the wizard's progress, the sends made here. */
export function remember(name, value) {
  sessionStorage.setItem(`mailsync.${name}`, JSON.stringify(value));
}

export function recall(name, fallback) {
  try {
    const raw = sessionStorage.getItem(`mailsync.${name}`);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}
