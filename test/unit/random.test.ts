import { describe, expect, it } from 'vitest';
import { randomBytesFast, randomToken } from '../../src/crypto/random.js';

describe('the random pool', () => {
  it('never hands out the same bytes twice, across many refills', () => {
    const seen = new Set<string>();
    // 12 bytes do not divide the 4 KiB pool: draws straddle every refill.
    for (let i = 0; i < 20_000; i++) {
      seen.add(i % 2 === 0 ? randomBytesFast(12).toString('hex') : Buffer.from(randomToken(12), 'base64url').toString('hex'));
    }
    expect(seen.size).toBe(20_000);
  });

  it('answers exactly the size asked for, in base64url for tokens', () => {
    for (const size of [0, 1, 12, 16, 1_024, 1_025, 70_000]) {
      expect(randomBytesFast(size)).toHaveLength(size);
      const token = randomToken(size);
      expect(token).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(size);
    }
  });

  it('gives the caller its own copy', () => {
    const a = randomBytesFast(16);
    const before = Buffer.from(a);
    for (let i = 0; i < 1_000; i++) randomBytesFast(16).fill(0);
    expect(a.equals(before)).toBe(true);
  });

  it('refuses sizes that are not whole non-negative numbers', () => {
    for (const size of [-1, 1.5, Number.NaN]) {
      expect(() => randomBytesFast(size)).toThrow(RangeError);
      expect(() => randomToken(size)).toThrow(RangeError);
    }
  });

  it('looks random: byte values spread evenly over many draws', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4_000; i++) for (const byte of randomBytesFast(16)) counts[byte]!++;
    // 64,000 bytes: 250 expected per value; a stuck or zeroed pool would pile onto few values.
    expect(Math.min(...counts)).toBeGreaterThan(150);
    expect(Math.max(...counts)).toBeLessThan(360);
  });
});
