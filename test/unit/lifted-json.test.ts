import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiftingScanner, parseLifted, type JsonPath, type LiftedBytes } from '../../src/http/lifted-json.js';

const MIN = 16;
const NONCE = 'n0nce';

/** Scans `text` cut at `cuts` (byte offsets), then parses. */
function scan(text: string, cuts: number[] = [], keep: (path: JsonPath) => boolean = () => false): { value: unknown; parts: Map<string, LiftedBytes> } {
  const bytes = Buffer.from(text, 'utf8');
  const scanner = new LiftingScanner(MIN, NONCE);
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
    scanner.write(bytes.subarray(at, cut));
    at = cut;
  }
  scanner.write(bytes.subarray(at));
  const value = parseLifted(scanner.end(), scanner.parts, keep);
  return { value, parts: scanner.parts };
}

const isContent = (path: JsonPath): boolean => path.length === 3 && path[0] === 'attachments' && path[2] === 'content';
const bytesOf = (lifted: LiftedBytes | undefined): Buffer => Buffer.concat(lifted?.chunks ?? []);

// Strings that look like base64 in every way a scanner could trip over: long runs of the
// alphabet, padding in and out of place, escaped slashes, other escapes, non-ASCII.
const trickyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64')),
  fc.uint8Array({ minLength: 12, maxLength: 80 }).chain((b) => fc.nat({ max: 120 }).map((n) => {
    const s = Buffer.from(b).toString('base64');
    const at = n % (s.length + 1);
    return s.slice(0, at) + ['=', ' ', '\n', '"', '\\', 'é', '-', '/'][n % 8] + s.slice(at);
  })),
  fc.stringMatching(/^[A-Za-z0-9+/]{14,40}={0,3}$/),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, trickyString, fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(trickyString, tie('value'), { maxKeys: 4 }),
})).value;

describe('a JSON body with its long base64 strings lifted out', () => {
  it('parses to what JSON.parse gives, however the body is cut and whatever its strings hold', () => {
    fc.assert(fc.property(json, fc.array(fc.nat({ max: 400 }), { maxLength: 6 }), fc.boolean(), (value, cuts, escapeSlashes) => {
      let text = JSON.stringify(value);
      if (escapeSlashes) text = text.replaceAll('/', '\\/');
      const { value: parsed, parts } = scan(text, cuts);
      expect(parsed).toEqual(JSON.parse(text));
      expect(parts.size).toBe(0);
    }), { numRuns: 1_500 });
  });

  it('decodes the base64 at the places asked for, and keeps a placeholder there', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 12, maxLength: 3_000 }), fc.array(fc.nat({ max: 5_000 }), { maxLength: 8 }), fc.boolean(), (file, cuts, escapeSlashes) => {
      const b64 = Buffer.from(file).toString('base64');
      const text = JSON.stringify({ to: ['a@example.org'], attachments: [{ filename: 'x.bin', content: escapeSlashes ? 'X' : b64 }], text: b64 })
        .replace('"X"', `"${b64.replaceAll('/', '\\/')}"`);
      const { value, parts } = scan(text, cuts, isContent);
      const body = value as { attachments: { content: string }[]; text: string };
      expect(body.text).toBe(b64);
      expect(body.attachments[0]!.content.startsWith(`\u0000${NONCE}:`)).toBe(true);
      expect(bytesOf(parts.get(body.attachments[0]!.content)).equals(Buffer.from(file))).toBe(true);
      expect(parts.size).toBe(1);
    }), { numRuns: 300 });
  });

  it('puts back a long string that is not canonical base64 exactly as it was', () => {
    const long = 'QUJD'.repeat(10);
    for (const content of [`${long}Q`, `${long}QQ=`, `${long}QR==`, `${long}=QUJD`, `${long} QUJD`, `${long}\nQUJD`, `${long}QUJD===`, `${long}é`]) {
      const text = JSON.stringify({ attachments: [{ content }] });
      for (const cut of [0, 10, text.length - 3]) {
        const { value, parts } = scan(text, [cut], isContent);
        expect((value as { attachments: { content: string }[] }).attachments[0]!.content).toBe(content);
        expect(parts.size).toBe(0);
      }
    }
  });

  it('refuses malformed JSON, a body cut inside a string, and __proto__ keys as invalid_json', () => {
    for (const text of ['{"a":', '{"a":"QUJDQUJDQUJDQUJDQUJD', '{"a":"abc', '{"a":"QUJDQUJDQUJDQUJDQUJD"', '{"__proto__":{"x":1}}', '']) {
      expect(() => scan(text, [], isContent), text).toThrow(expect.objectContaining({ code: 'invalid_json' }));
    }
  });

  it('a client cannot forge a placeholder: a NUL string stays a string and names no bytes', () => {
    const { value, parts } = scan(JSON.stringify({ attachments: [{ content: `\u0000${NONCE}:0` }] }), [], isContent);
    expect((value as { attachments: { content: string }[] }).attachments[0]!.content).toBe(`\u0000${NONCE}:0`);
    expect(parts.size).toBe(0);
  });
});
