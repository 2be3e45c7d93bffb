/**
 * Opaque ids: a type prefix and 96 random bits, URL-safe.
 *
 * Ids name Redis keys (store/keys.ts), so their shape is a security boundary:
 * a value of another shape (`con_X:mailboxes`, `con_X:address:a@b`) would name
 * another record's key. Every id that comes from outside is checked here
 * before any key is built; one that fails names no record (MalformedIdError,
 * a 404 like an unknown id).
 */
import { randomToken } from '../crypto/random.js';
import { MalformedIdError } from '../errors/errors.js';

export type IdPrefix = 'con' | 'mbx' | 'whk' | 'snd' | 'dlv';

/** What each kind of id names, as a 404 says it ("Connection con_… does not exist."). */
export const RESOURCE_OF: Readonly<Record<IdPrefix, string>> = {
  con: 'Connection',
  mbx: 'Mailbox',
  whk: 'Webhook',
  snd: 'Message',
  dlv: 'Delivery',
};

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomToken(12)}`;
}

const ID = /^[a-z]{3}_[A-Za-z0-9_-]{16}$/;

/** The JSON Schema pattern of one kind of id, for payload schemas. */
export const idPattern = (prefix: IdPrefix): string => `^${prefix}_[A-Za-z0-9_-]{16}$`;

export function isId(value: unknown, prefix: IdPrefix): value is string {
  return typeof value === 'string' && value.startsWith(`${prefix}_`) && ID.test(value);
}

/** The id itself when it has its kind's shape; MalformedIdError (a not_found) otherwise. */
export function requireId(value: string, prefix: IdPrefix): string {
  if (!isId(value, prefix)) throw new MalformedIdError(RESOURCE_OF[prefix], value);
  return value;
}
