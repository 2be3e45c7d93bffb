import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCipher, envelopeKeyIds, keyIdOf } from '../../src/crypto/envelope.js';
import { classify } from '../../src/errors/classify.js';
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

  it('says which key id is missing, with a public detail and hint (never the key)', () => {
    const oldKey = randomBytes(32);
    const before = createCipher(oldKey).encrypt('s3cret', 'a');
    let thrown: unknown;
    try {
      createCipher(key).decrypt(before, 'a');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DecryptionError);
    expect((thrown as DecryptionError).missingKeyId).toBe(keyIdOf(oldKey));
    const c = classify(thrown);
    expect(c).toMatchObject({ code: 'decryption_failed', status: 500, retryable: false, fields: { keyId: keyIdOf(oldKey) } });
    expect(c.detail).toContain(keyIdOf(oldKey));
    expect(c.hint).toMatch(new RegExp(`ENCRYPTION_KEY_PREVIOUS.*${keyIdOf(oldKey)}`));
    for (const k of [oldKey, key]) expect(JSON.stringify(c)).not.toContain(k.toString('base64'));
  });

  it('finds the key ids of the envelopes in a stored record, and knows which keys it holds', () => {
    const oldKey = randomBytes(32);
    const record = JSON.stringify({
      clientSecret: createCipher(oldKey).encrypt('a', 'x'),
      secrets: [{ envelope: createCipher(key).encrypt('b', 'y') }, { envelope: createCipher(key).encrypt('c', 'z') }],
      note: 'xms1.AAAAAAAAAAA.not-an-envelope',
    });
    expect(envelopeKeyIds(record).sort()).toEqual([keyIdOf(oldKey), keyIdOf(key)].sort());
    expect(envelopeKeyIds(createCipher(key).encrypt('raw', 'msal:p'))).toEqual([keyIdOf(key)]);
    expect(envelopeKeyIds('{"name":"no secrets"}')).toEqual([]);
    expect(createCipher(key, [oldKey]).hasKey(keyIdOf(oldKey))).toBe(true);
    expect(createCipher(key).hasKey(keyIdOf(oldKey))).toBe(false);
  });

  it('rejects malformed envelopes', () => {
    const cipher = createCipher(key);
    for (const bad of ['', 'plain', 'ms1.a.b.c', 'ms2.a.b.c.d', 'ms1.....']) {
      expect(() => cipher.decrypt(bad, 'a')).toThrow(DecryptionError);
    }
  });
});
