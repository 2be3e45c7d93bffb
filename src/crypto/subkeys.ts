/**
 * Keys derived from ENCRYPTION_KEY for a purpose other than encryption
 * (HKDF-SHA-256, one `info` string per purpose), so one secret in the
 * environment serves several uses and no use's output says anything about
 * another's key. Rotation works as for the cipher: each derived key is known
 * by the id of the ENCRYPTION_KEY it comes from (envelope.ts's keyIdOf), the
 * current one derives new values, the previous ones (ENCRYPTION_KEY_PREVIOUS)
 * still recognise theirs.
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { keyIdOf } from './envelope.js';

/** Bytes of a derived key: HMAC-SHA-256's block is larger, its output this size. */
const SUBKEY_BYTES = 32;
/**
 * No salt: ENCRYPTION_KEY is already 32 uniformly random bytes (RFC 5869 §3.1 allows a
 * zero-length salt then); `info` is what separates the purposes.
 */
const NO_SALT = Buffer.alloc(0);

export interface KeyRing {
  /** The id of the current ENCRYPTION_KEY (the id its envelopes carry). */
  readonly currentId: string;
  /** The key derived from the current ENCRYPTION_KEY. */
  readonly current: KeyObject;
  /** The key derived from the current or a previous ENCRYPTION_KEY, by its id; undefined for any other id. */
  key(id: string): KeyObject | undefined;
}

function derive(key: Buffer, info: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', key, NO_SALT, info, SUBKEY_BYTES)));
}

/** Derives, once, the key for `info` from each ENCRYPTION_KEY (KeyObjects: an HMAC made from one skips copying the key). */
export function deriveKeyRing(currentKey: Buffer, previousKeys: readonly Buffer[], info: string): KeyRing {
  const keys = new Map<string, KeyObject>();
  for (const key of previousKeys) keys.set(keyIdOf(key), derive(key, info));
  const currentId = keyIdOf(currentKey);
  const current = derive(currentKey, info);
  keys.set(currentId, current);
  return { currentId, current, key: (id) => keys.get(id) };
}
