/** Opaque ids: a type prefix and 96 random bits, URL-safe. */
import { randomToken } from '../crypto/random.js';

export type IdPrefix = 'con' | 'mbx' | 'whk' | 'snd' | 'dlv';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomToken(12)}`;
}

const ID = /^[a-z]{3}_[A-Za-z0-9_-]{16}$/;

export function isId(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(`${prefix}_`) && ID.test(value);
}
