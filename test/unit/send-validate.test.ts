/** What POST /v1/send refuses beyond the schema: addresses, header injection, the denylist, strict base64, limits. */
import fc from 'fast-check';
import { createHash, createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError, ValidationError } from '../../src/errors/errors.js';
import { deriveKeyRing } from '../../src/crypto/subkeys.js';
import { BodyHasher, bodyMac, IDEMPOTENCY_KEY_INFO } from '../../src/domain/sending/idempotency.js';
import type { SendInput } from '../../src/domain/sending/model.js';
import { MessageParts } from '../../src/domain/sending/parts.js';
import { checkSend, encodedBase64, isAddress, isDeniedHeader, strictBase64Length } from '../../src/domain/sending/validate.js';

const LIMITS = { maxMessageBytes: 100_000, maxRecipients: 3 };
const base: SendInput = { mailboxId: 'mbx_AAAAAAAAAAAAAAAA', to: ['a@example.org'], text: 'hi' };

function problems(input: SendInput): string[] {
  try {
    checkSend(input, LIMITS);
    return [];
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return (err.fields.errors as { field: string }[]).map((e) => e.field);
  }
}

describe('addresses', () => {
  it.each([
    'a@example.org', 'first.last+tag@sub.example.co.uk', "o'brien@example.org", 'x_y-z=1@a-b.example', 'UPPER@EXAMPLE.ORG',
  ])('accepts %s', (address) => expect(isAddress(address)).toBe(true));

  it.each([
    'a@example.org\r\nBcc: b@example.org', 'a@example.org\n', '"Boss" <b@example.org>', '<a@example.org>', 'a@example.org, b@example.org',
    'a b@example.org', '"a b"@example.org', 'a@localhost', 'a@@example.org', '.a@example.org', 'a..b@example.org', 'a.@example.org',
    'a@-example.org', 'a@example.org.', 'a@[127.0.0.1]', 'ü@example.org', 'a@exämple.org', `${'x'.repeat(65)}@example.org`, 'a@example.org (c)',
  ])('refuses %j', (address) => expect(isAddress(address)).toBe(false));

  it('never accepts a CR, LF, comma, angle bracket or space, wherever it is', () => {
    fc.assert(fc.property(fc.string(), fc.constantFrom('\r', '\n', ',', '<', '>', ' ', '"', ';'), fc.string(), (before, bad, after) => {
      expect(isAddress(`${before}${bad}${after}@example.org`)).toBe(false);
      expect(isAddress(`a@example${bad}${after}.org`)).toBe(false);
    }));
  });
});

describe('headers', () => {
  it('refuses the fields the service writes, trace and authentication fields, and Exchange controls', () => {
    for (const name of ['From', 'to', 'CC', 'Bcc', 'Subject', 'Date', 'Message-Id', 'MIME-Version', 'Content-Type', 'Return-Path',
      'Received', 'DKIM-Signature', 'Resent-From', 'ARC-Seal', 'X-MS-Exchange-Organization-SCL', 'Reply-To', 'In-Reply-To', 'References']) {
      expect(isDeniedHeader(name), name).toBe(true);
    }
    for (const name of ['X-Ticket', 'List-Unsubscribe', 'Auto-Submitted', 'X-Priority', 'Importance', 'X-Mailer', 'Precedence']) {
      expect(isDeniedHeader(name), name).toBe(false);
    }
  });

  it('refuses any control character but TAB in a header value or the subject', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0x1f }).filter((c) => c !== 9), fc.string(), (code, rest) => {
      const bad = `${rest}${String.fromCharCode(code)}x`;
      expect(problems({ ...base, subject: bad })).toEqual(['/subject']);
      expect(problems({ ...base, headers: { 'X-A': bad } })).toEqual(['/headers/X-A']);
    }));
    expect(problems({ ...base, subject: 'tab\tis fine — and unicode too', headers: { 'X-A': 'ok\tvalue' } })).toEqual([]);
  });

  it('names a header field with a JSON pointer', () => {
    expect(problems({ ...base, headers: { 'a/b~c': 'x' } })).toEqual(['/headers/a~1b~0c']);
  });
});

describe('strict base64', () => {
  it('decodes what Buffer encodes, to the right length', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(strictBase64Length(Buffer.from(bytes).toString('base64'))).toBe(bytes.length);
    }));
  });

  it.each(['eA=', 'eA', 'eA==\n', 'e A==', 'eA-_', 'eB==', 'eA=A', '====', 'eA==eA=='])('refuses %j', (text) => {
    expect(strictBase64Length(text)).toBeUndefined();
  });
});

describe('from (Send As)', () => {
  it('accepts a bare address with or without a plain display name', () => {
    expect(problems({ ...base, from: { address: 'sales@contoso.example' } })).toEqual([]);
    expect(problems({ ...base, from: { name: 'Sales – Contoso (EU)', address: 'sales@contoso.example' } })).toEqual([]);
  });

  it.each(['"Boss" <b@example.org>', '<b@example.org>', 'b@example.org\r\nBcc: c@example.org', 'b@example.org, c@example.org', 'sales'])(
    'refuses the address %j at /from/address', (address) => {
      expect(problems({ ...base, from: { address } })).toEqual(['/from/address']);
    },
  );

  it.each([
    'ceo@contoso.example', 'Sales <ceo@contoso.example>', 'Sales"', 'a\r\nBcc: x@y.org', 'a\u0000b', 'a\\b', 'Doe, John', 'x; y', 'a:b', ' ', 'n'.repeat(129),
  ])('refuses the name %j at /from/name (no spoofed address, no injection)', (name) => {
    expect(problems({ ...base, from: { name, address: 'sales@contoso.example' } })).toEqual(['/from/name']);
  });

  it('never accepts a name with @, <, >, a quote or a control character, wherever it is', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), fc.constantFrom('@', '<', '>', '"', '\r', '\n', '\u0001', '\u007f'), fc.string({ maxLength: 40 }), (before, bad, after) => {
      expect(problems({ ...base, from: { name: `${before}${bad}${after}x`, address: 'sales@contoso.example' } })).toContain('/from/name');
    }));
  });
});

describe('checkSend', () => {
  it('counts distinct recipients across to, cc and bcc, case-insensitively', () => {
    expect(checkSend({ ...base, to: ['a@example.org', 'A@example.org'], cc: ['b@example.org'], bcc: ['a@EXAMPLE.org'] }, LIMITS).recipients).toBe(2);
    expect(problems({ ...base, to: ['a@x.org', 'b@x.org'], cc: ['c@x.org'], bcc: ['d@x.org'] })).toEqual(['/to']);
    expect(problems({ ...base, to: [] })).toEqual(['/to']);
    expect(problems({ mailboxId: base.mailboxId, bcc: ['only@example.org'] })).toEqual([]);
  });

  it('lists every problem at once', () => {
    expect(problems({ ...base, to: ['bad'], subject: 'a\nb', attachments: [{ filename: 'x/y', contentType: 'nope', content: 'x' }] })).toEqual([
      '/to/0', '/subject', '/attachments/0/filename', '/attachments/0/contentType', '/attachments/0/content',
    ]);
  });

  it('sizes the message as it will be sent, attachments in base64, against the limit (413), as Exchange counts it', () => {
    const attachment = (n: number) => ({ filename: 'a.bin', content: Buffer.alloc(n).toString('base64') });
    expect(encodedBase64(57)).toBe(76 + 2);
    expect(encodedBase64(58)).toBe(80 + 4);
    const small = checkSend({ ...base, text: 'é', html: 'ab', attachments: [attachment(100)] }, LIMITS).bytes;
    expect(small).toBeGreaterThan(encodedBase64(100));
    expect(small).toBeLessThan(4_000);
    // 70 KB of file is under the 100 KB limit decoded, but not once encoded (about 95 KB, plus headers and a text).
    const file = checkSend({ ...base, attachments: [attachment(70_000)] }, LIMITS).bytes;
    expect(file).toBeGreaterThan(70_000 * 4 / 3);
    expect(file).toBeLessThan(70_000 * 1.4 + 4_000);
    try {
      checkSend({ ...base, text: 'x'.repeat(5_000), attachments: [attachment(70_000)] }, LIMITS);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('payload_too_large');
      expect((err as AppError).detail).toMatch(/as sent/);
    }
  });
});

describe('idempotency body hash', () => {
  const key = createSecretKey(randomBytes(32));
  const bodyHash = (body: unknown): string => bodyMac(body, key);
  const canonical = (value: unknown): string => {
    if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
    if (value !== null && typeof value === 'object') {
      return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    return JSON.stringify(value) ?? 'null';
  };

  it('ignores key order and whitespace, and nothing else', () => {
    const a = { mailboxId: 'm', to: ['x@y.org'], headers: { 'X-A': '1', 'X-B': '2' } };
    const b = JSON.parse('{ "headers": { "X-B": "2", "X-A": "1" },\n "to": ["x@y.org"], "mailboxId": "m" }') as unknown;
    expect(bodyHash(b)).toBe(bodyHash(a));
    expect(bodyHash({ ...a, to: ['X@y.org'] })).not.toBe(bodyHash(a));
    expect(bodyHash({ ...a, cc: [] })).not.toBe(bodyHash(a));
    expect(bodyHash({ ...a, to: ['x@y.org', 'z@y.org'] })).not.toBe(bodyHash({ ...a, to: ['z@y.org', 'x@y.org'] }));
  });

  it('is the HMAC-SHA-256 of the canonical JSON text under the key, small pieces and large leaves alike', () => {
    const reference = (value: unknown): string => createHmac('sha256', key).update(canonical(value), 'utf8').digest('base64url');
    const big = { text: 'é'.repeat(40_000), to: Array.from({ length: 2_000 }, (_, i) => `r${i}@example.org`), z: { a: 'x'.repeat(16_383) } };
    expect(bodyHash(big)).toBe(reference(big));
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(bodyHash(value)).toBe(reference(value));
    }));
  });

  it('is the same for a body whose base64 fields the HTTP layer decoded as they arrived, in any pieces', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.array(fc.nat({ max: 2_000 }), { maxLength: 5 }), (bytes, cuts) => {
      const file = Buffer.from(bytes);
      const at = [0, ...cuts.map((c) => c % (file.length + 1)).sort((x, y) => x - y), file.length];
      const chunks = at.slice(1).map((end, i) => file.subarray(at[i]!, end));
      const placeholder = '\u0000nonce:0';
      const parts = new MessageParts(new Map([[placeholder, { chunks, length: file.length }]]));
      const asText = { mailboxId: 'm', attachments: [{ filename: 'a', content: file.toString('base64') }] };
      const asBytes = { mailboxId: 'm', attachments: [{ filename: 'a', content: placeholder }] };
      expect(bodyMac(asBytes, key, parts)).toBe(bodyHash(asText));
    }), { numRuns: 200 });
  });

  it('is the same for any JSON value parsed back from its text', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(bodyHash(JSON.parse(JSON.stringify(value)) as unknown)).toBe(bodyHash(value));
    }));
  });
});

describe('BodyHasher (the hash a claim stores)', () => {
  const [oldKey, newKey, otherKey] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const before = new BodyHasher(deriveKeyRing(oldKey, [], IDEMPOTENCY_KEY_INFO));
  const after = new BodyHasher(deriveKeyRing(newKey, [oldKey], IDEMPOTENCY_KEY_INFO));
  const body = { mailboxId: 'm', to: ['x@y.org'], text: 'Your code is 4711' };
  const other = { ...body, text: 'Your code is 4712' };
  const sha256 = (value: unknown): string => createHash('sha256').update(JSON.stringify(value), 'utf8').digest('base64url');

  it('names its key and hides the body: no plain SHA-256, and another key makes another hash', () => {
    const stored = before.hash(body);
    expect(stored).toMatch(/^[\w-]{11}\.[\w-]{43}$/);
    expect(stored).not.toContain(sha256({ mailboxId: 'm', text: 'Your code is 4711', to: ['x@y.org'] }));
    expect(after.hash(body)).not.toBe(stored);
    expect(after.hash(body).split('.')[1]).not.toBe(stored.split('.')[1]);
  });

  it('recognises the same body under the current key, a previous key, and in a claim from before the HMAC', () => {
    const fresh = after.hash(body);
    expect(after.matches(fresh, fresh, body)).toBe(true);
    expect(after.matches(before.hash(body), fresh, body)).toBe(true);
    const legacy = createHash('sha256').update('{"mailboxId":"m","text":"Your code is 4711","to":["x@y.org"]}').digest('base64url');
    expect(after.matches(legacy, fresh, body)).toBe(true);
  });

  it('refuses another body under every key, and a claim under a key no longer configured', () => {
    const fresh = after.hash(other);
    expect(after.matches(after.hash(body), fresh, other)).toBe(false);
    expect(after.matches(before.hash(body), fresh, other)).toBe(false);
    expect(after.matches(createHash('sha256').update('x').digest('base64url'), fresh, other)).toBe(false);
    const forgotten = new BodyHasher(deriveKeyRing(otherKey, [], IDEMPOTENCY_KEY_INFO));
    expect(after.matches(forgotten.hash(body), after.hash(body), body)).toBe(false);
    expect(after.matches('', fresh, other)).toBe(false);
  });
});
