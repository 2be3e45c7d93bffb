import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCipher, keyIdOf } from '../../src/crypto/envelope.js';
import { DecryptionError } from '../../src/errors/errors.js';

describe('AES-256-GCM envelopes', () => {
  const key = randomBytes(32);

  it('round-trips and never contains the plaintext', () => {
    const cipher = createCipher(key);
    const envelope = cipher.encrypt('s3cret-value', 'connection:a:clientSecret');
    expect(envelope).not.toContain('s3cret');
    expect(envelope.split('.')[1]).toBe(keyIdOf(key));
    expect(cipher.decryptText(envelope, 'connection:a:clientSecret')).toBe('s3cret-value');
  });

  it('uses a fresh IV each time', () => {
    const cipher = createCipher(key);
    expect(cipher.encrypt('x', 'a')).not.toBe(cipher.encrypt('x', 'a'));
  });

  it('refuses a value moved to another record (associated data)', () => {
    const cipher = createCipher(key);
    const envelope = cipher.encrypt('s3cret', 'connection:a:clientSecret');
    expect(() => cipher.decrypt(envelope, 'connection:b:clientSecret')).toThrow(DecryptionError);
  });

  it('refuses a tampered ciphertext', () => {
    const cipher = createCipher(key);
    const parts = cipher.encrypt('s3cret', 'a').split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    parts[3] = body.toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'), 'a')).toThrow(DecryptionError);
  });

  it('rotates: old values decrypt with the previous key and are flagged for re-encryption', () => {
    const oldKey = randomBytes(32);
    const before = createCipher(oldKey).encrypt('s3cret', 'a');
    const after = createCipher(key, [oldKey]);
    expect(after.decryptText(before, 'a')).toBe('s3cret');
    expect(after.needsRotation(before)).toBe(true);
    expect(after.needsRotation(after.encrypt('s3cret', 'a'))).toBe(false);
  });

  it('names the missing key when the previous key is not configured', () => {
    const before = createCipher(randomBytes(32)).encrypt('s3cret', 'a');
    expect(() => createCipher(key).decrypt(before, 'a')).toThrow(/ENCRYPTION_KEY_PREVIOUS/);
  });

  it('rejects malformed envelopes', () => {
    const cipher = createCipher(key);
    for (const bad of ['', 'plain', 'ms1.a.b.c', 'ms2.a.b.c.d', 'ms1.....']) {
      expect(() => cipher.decrypt(bad, 'a')).toThrow(DecryptionError);
    }
  });
});
