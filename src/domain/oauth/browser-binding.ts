/**
 * Binds a sign-in (the sign-in provider's) to the browser that started it,
 * against login CSRF: without it, whoever opens a callback URL finishes the
 * sign-in it belongs to, so an attacker could sign a victim's browser into
 * the attacker's account by sending them the callback of the attacker's own
 * sign-in. The start hands the browser a secret (the route sets it as a
 * cookie) and the state record keeps only its SHA-256; the callback refuses
 * a browser that does not bring the secret back.
 *
 * Each sign-in gets its own cookie, named by a tag of its state, so two
 * sign-ins started in two tabs of one browser do not overwrite each other's
 * secret, and the callback clears exactly its own. The tag is a digest of
 * the state, never the state.
 *
 * The delegated flow ("Set up / Renew OAuth connection") is not bound: its
 * authorize URL is Microsoft's, handed to an API client, so the browser
 * reaches this service for the first time at the callback and there is no
 * earlier answer to set a cookie with. Its callback connects a mailbox only
 * when the mailbox's own account signed in (wrong_account otherwise).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { newSecret, SECRET_PATTERN } from './secrets.js';

/** What the browser keeps: `secret` under a cookie named after `tag`. */
export interface BrowserBinding {
  tag: string;
  secret: string;
}

const TAG_LENGTH = 16;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The cookie tag of a sign-in: 16 base64url characters of a digest of its state. */
export function bindingTag(state: string): string {
  return sha256(`browser-binding:${state}`).toString('base64url').slice(0, TAG_LENGTH);
}

/** A fresh binding for the sign-in of `state`, and the digest its state record keeps. */
export function newBinding(state: string): { binding: BrowserBinding; digest: string } {
  const secret = newSecret();
  return { binding: { tag: bindingTag(state), secret }, digest: sha256(secret).toString('base64url') };
}

/** Whether the browser brought back the secret whose digest the state record holds (constant time). */
export function bindingMatches(digest: string, secret: string | undefined): boolean {
  if (secret === undefined || !SECRET_PATTERN.test(secret)) return false;
  const expected = Buffer.from(digest, 'base64url');
  const actual = sha256(secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
