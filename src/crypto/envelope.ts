/**
 * Secrets at rest: AES-256-GCM, one self-describing envelope per value.
 *
 *   ms1.<keyId>.<iv>.<ciphertext>.<tag>      (base64url parts)
 *
 * `keyId` is derived from the key itself (first 8 bytes of its SHA-256), so
 * rotating needs no bookkeeping: new values are written with the current key;
 * values written with a key listed in ENCRYPTION_KEY_PREVIOUS still decrypt;
 * `needsRotation` tells a caller to re-encrypt on its next write.
 * Large values (a message's content) use a binary envelope instead, with the
 * same parts as raw bytes, so a 20 MB attachment is not stored as 27 MB of
 * base64url (see encryptChunks):
 *
 *   ms2.<keyId>.<iv: 12 bytes><ciphertext><tag: 16 bytes>
 *
 * The associated data binds a ciphertext to where it is stored (for example
 * `connection:<id>:clientSecret`), so a value copied to another record fails
 * to decrypt instead of leaking into the wrong place.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { DecryptionError } from '../errors/errors.js';
import { randomBytesFast } from './random.js';

const VERSION = 'ms1';
const BINARY_VERSION = 'ms2';
/** Plaintext pieces are gathered to about this size per cipher call (fewer, larger Redis writes). */
export const PIECE_BYTES = 1024 * 1024;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Cipher {
  readonly keyId: string;
  encrypt(plaintext: string | Buffer, associatedData: string): string;
  decrypt(envelope: string, associatedData: string): Buffer;
  decryptText(envelope: string, associatedData: string): string;
  /**
   * A binary envelope of the plaintext given in pieces, as pieces (none copied into one: the
   * caller writes them in order). Pieces smaller than a mebibyte are encrypted together.
   */
  encryptChunks(plaintext: readonly Buffer[], associatedData: string): Buffer[];
  /**
   * A binary envelope written as it is made: `head` first, then what each `update` answers, then
   * `final()`. Only one piece of ciphertext need exist at a time.
   */
  encryptStream(associatedData: string): EnvelopeStream;
  /** The plaintext of a binary envelope, or of a text one (its bytes, as written by encrypt). */
  decryptBytes(envelope: Buffer, associatedData: string): Buffer;
  /** True when the envelope was written with a key other than the current one. */
  needsRotation(envelope: string): boolean;
  /** True when this cipher holds the key with this id (the current key or one of ENCRYPTION_KEY_PREVIOUS). */
  hasKey(keyId: string): boolean;
}

export interface EnvelopeStream {
  readonly head: Buffer;
  update(plaintext: Buffer): Buffer;
  /** The authentication tag: the envelope's last bytes. */
  final(): Buffer;
}

/** Pieces of `plaintext` gathered to at least `bytes` each (a large piece stays as it is). */
export function* gathered(plaintext: readonly Buffer[], bytes: number): Generator<Buffer> {
  let group: Buffer[] = [];
  let groupBytes = 0;
  for (const piece of plaintext) {
    if (piece.length >= bytes && group.length === 0) {
      yield piece;
      continue;
    }
    group.push(piece);
    groupBytes += piece.length;
    if (groupBytes >= bytes) {
      yield Buffer.concat(group, groupBytes);
      group = [];
      groupBytes = 0;
    }
  }
  if (group.length > 0) yield group.length === 1 ? group[0]! : Buffer.concat(group, groupBytes);
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');
}

export function isEnvelope(value: string): boolean {
  return value.startsWith(`${VERSION}.`);
}

// A key id is 8 bytes in base64url: 11 characters. Matches envelopes anywhere in a text (a JSON record, a cache value).
const ENVELOPE_KEY_ID = new RegExp(`(?<![A-Za-z0-9_-])${VERSION}\\.([A-Za-z0-9_-]{11})\\.`, 'g');

/** The ids of the keys that wrote the envelopes in `text` (a stored record or value), each once. */
export function envelopeKeyIds(text: string): string[] {
  return [...new Set([...text.matchAll(ENVELOPE_KEY_ID)].map((m) => m[1]!))];
}

export function createCipher(currentKey: Buffer, previousKeys: readonly Buffer[] = []): Cipher {
  for (const key of [currentKey, ...previousKeys]) {
    if (key.length !== 32) throw new Error('AES-256-GCM keys are 32 bytes');
  }
  const keyId = keyIdOf(currentKey);
  // KeyObjects, made once: a cipher made from one skips copying and checking the raw key.
  const keys = new Map<string, KeyObject>();
  for (const key of previousKeys) keys.set(keyIdOf(key), createSecretKey(key));
  const current = createSecretKey(currentKey);
  keys.set(keyId, current);
  const prefix = `${VERSION}.${keyId}.`;

  function encrypt(plaintext: string | Buffer, associatedData: string): string {
    const iv = randomBytesFast(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    // GCM is a stream mode: `final` adds no bytes, so the body is `update`'s output alone.
    const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
    cipher.final();
    return `${prefix}${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  function decrypt(envelope: string, associatedData: string): Buffer {
    const parts = envelope.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new DecryptionError('not an encrypted envelope');
    const [, id, iv, body, tag] = parts as [string, string, string, string, string];
    const key = keys.get(id);
    if (!key) throw new DecryptionError(`no key with id ${id}: set ENCRYPTION_KEY_PREVIOUS to the key it was written with`, { missingKeyId: id });
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
    } catch {
      throw new DecryptionError('envelope failed authentication (damaged, or stored under another record)');
    }
  }

  const binaryPrefix = Buffer.from(`${BINARY_VERSION}.${keyId}.`, 'latin1');

  function encryptStream(associatedData: string): EnvelopeStream {
    const iv = randomBytesFast(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    return {
      head: Buffer.concat([binaryPrefix, iv]),
      update: (plaintext) => cipher.update(plaintext),
      final: () => {
        cipher.final();
        return cipher.getAuthTag();
      },
    };
  }

  function encryptChunks(plaintext: readonly Buffer[], associatedData: string): Buffer[] {
    const stream = encryptStream(associatedData);
    const out = [stream.head];
    for (const piece of gathered(plaintext, PIECE_BYTES)) out.push(stream.update(piece));
    out.push(stream.final());
    return out;
  }

  function decryptBytes(envelope: Buffer, associatedData: string): Buffer {
    if (envelope.subarray(0, VERSION.length + 1).toString('latin1') === `${VERSION}.`) return decrypt(envelope.toString('latin1'), associatedData);
    const head = envelope.subarray(0, binaryPrefix.length).toString('latin1');
    const [version, id, rest] = head.split('.');
    if (version !== BINARY_VERSION || rest !== '' || id === undefined || envelope.length < binaryPrefix.length + IV_BYTES + TAG_BYTES) {
      throw new DecryptionError('not an encrypted envelope');
    }
    const key = keys.get(id);
    if (!key) throw new DecryptionError(`no key with id ${id}: set ENCRYPTION_KEY_PREVIOUS to the key it was written with`, { missingKeyId: id });
    const ivStart = binaryPrefix.length;
    const tagStart = envelope.length - TAG_BYTES;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, envelope.subarray(ivStart, ivStart + IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(envelope.subarray(tagStart));
      const plain = decipher.update(envelope.subarray(ivStart + IV_BYTES, tagStart));
      decipher.final();
      return plain;
    } catch {
      throw new DecryptionError('envelope failed authentication (damaged, or stored under another record)');
    }
  }

  return {
    keyId,
    encrypt,
    decrypt,
    encryptChunks,
    encryptStream,
    decryptBytes,
    decryptText: (envelope, associatedData) => decrypt(envelope, associatedData).toString('utf8'),
    needsRotation: (envelope) => envelope.split('.', 2)[1] !== keyId,
    hasKey: (id) => keys.has(id),
  };
}
