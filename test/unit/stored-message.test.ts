import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStored, encodeStored, outgoingMail, storedMessage, type StoredMessage } from '../../src/domain/sending/message.js';

const base: StoredMessage = {
  v: 1, from: 'support@contoso.example', messageId: '<a@contoso.example>', date: '2026-11-26T06:00:00.000Z',
  to: ['a@example.org'], cc: [], bcc: [], attachments: [], headers: {},
};

/** What the worker gets back: the stored pieces, joined as Redis holds them. */
const roundTrip = (message: StoredMessage): StoredMessage => decodeStored(Buffer.concat(encodeStored(message)));
/** A message with each attachment's pieces joined, as decodeStored gives them. */
const joined = (message: StoredMessage): StoredMessage => ({ ...message, attachments: message.attachments.map((a) => ({ ...a, content: [Buffer.concat(a.content)] })) });
const b64 = (text: string): Buffer[] => [Buffer.from(text, 'base64')];

const text = fc.string({ unit: 'binary', maxLength: 300 });
const message: fc.Arbitrary<StoredMessage> = fc.record({
  subject: fc.option(text, { nil: undefined }),
  text: fc.option(text, { nil: undefined }),
  html: fc.option(text, { nil: undefined }),
  attachments: fc.array(fc.record({
    filename: fc.string({ minLength: 1 }),
    content: fc.array(fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)), { maxLength: 3 }),
    contentType: fc.option(fc.constant('application/pdf'), { nil: undefined }),
  }), { maxLength: 4 }),
  headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), text, { maxKeys: 3 }),
}).map((r) => {
  const m: StoredMessage = { ...base, headers: r.headers, attachments: r.attachments.map((a) => (a.contentType ? a : { filename: a.filename, content: a.content })) };
  if (r.subject !== undefined) m.subject = r.subject;
  if (r.text !== undefined) m.text = r.text;
  if (r.html !== undefined) m.html = r.html;
  return m;
});

describe('the stored form of a message', () => {
  it('gives back every message as it was, whatever its text holds (line breaks, the format marker, any Unicode)', () => {
    fc.assert(fc.property(message, (m) => {
      expect(roundTrip(m)).toEqual(joined(m));
    }), { numRuns: 300 });
    const tricky = { ...base, text: '3\n{"v":1}\n\n', html: '\u2028\u2029\r\n', attachments: [{ filename: 'a\nb.txt', content: b64('QUJD') }, { filename: 'e', content: [] }] };
    expect(roundTrip(tricky)).toEqual(joined(tricky));
  });

  it('keeps the large parts out of the JSON header, as bytes, the attachments decoded and not copied', () => {
    const file = Buffer.from('ABC'.repeat(10));
    const pieces = encodeStored({ ...base, text: 'line one\nline "two"', attachments: [{ filename: 'a.pdf', content: [file] }] });
    expect(pieces).toContain(file);
    const stored = Buffer.concat(pieces).toString('latin1');
    const [marker, header, rest] = [stored.slice(0, 2), stored.slice(2, stored.indexOf('\n', 2)), stored.slice(stored.indexOf('\n', 2) + 1)];
    expect(marker).toBe('3\n');
    expect(header).not.toContain('line one');
    expect(rest).toBe(`line one\nline "two"${'ABC'.repeat(10)}`);
  });

  it('still reads messages stored before: format 2 (base64 text) and one JSON document (format 1)', () => {
    const old = { ...base, text: 'hello', attachments: [{ filename: 'a.txt', content: 'QQ==' }] };
    const decoded = { ...base, text: 'hello', attachments: [{ filename: 'a.txt', content: b64('QQ==') }] };
    expect(decodeStored(Buffer.from(JSON.stringify(old)))).toEqual(decoded);
    const format2 = `2\n${JSON.stringify({ ...base, attachments: [{ filename: 'a.txt' }], lengths: [5, -1, 4], rawLength: undefined })}\nhelloQQ==`;
    expect(decodeStored(Buffer.from(format2))).toEqual(decoded);
  });

  it('keeps the Send As From with the message; a message stored before it has none and is sent as the mailbox', () => {
    const sendAs = { ...base, sendAs: { name: 'Sales', address: 'sales@contoso.example' } };
    expect(roundTrip(sendAs)).toEqual(sendAs);
    expect(outgoingMail(roundTrip(sendAs), 'snd_AAAAAAAAAAAAAAAA')).toMatchObject({ from: base.from, sendAs: { name: 'Sales', address: 'sales@contoso.example' } });
    expect(roundTrip({ ...base, sendAs: { address: 'sales@contoso.example' } }).sendAs).toEqual({ address: 'sales@contoso.example' });
    // Format 2 written before `sendAs` existed, and format 1.
    const before = `2\n${JSON.stringify({ v: 1, from: base.from, messageId: base.messageId, date: base.date, to: base.to, cc: [], bcc: [], attachments: [], headers: {}, lengths: [2, -1] })}\nhi`;
    expect(decodeStored(Buffer.from(before))).toEqual({ ...base, text: 'hi' });
    expect(outgoingMail(decodeStored(Buffer.from(before)), 'snd_AAAAAAAAAAAAAAAA')).not.toHaveProperty('sendAs');
    expect(outgoingMail(decodeStored(Buffer.from(JSON.stringify(base))), 'snd_AAAAAAAAAAAAAAAA')).not.toHaveProperty('sendAs');
    // From the request: the mailbox stays `from`, the request's from becomes `sendAs`.
    const stored = storedMessage({ mailboxId: 'm', to: ['a@example.org'], from: { address: 'sales@contoso.example' } }, base.from, base.messageId, new Date(base.date));
    expect(stored).toMatchObject({ from: base.from, sendAs: { address: 'sales@contoso.example' } });
  });

  it('refuses a stored form cut short, lengthened or without a header end', () => {
    const stored = Buffer.concat(encodeStored({ ...base, text: 'hello', attachments: [{ filename: 'a.txt', content: b64('QUJDRA==') }] }));
    expect(() => decodeStored(stored.subarray(0, -1))).toThrow(/shorter/);
    expect(() => decodeStored(Buffer.concat([stored, Buffer.from('x')]))).toThrow(/longer/);
    expect(() => decodeStored(Buffer.from('3\n{"lengths":[]'))).toThrow(/header/);
    expect(() => decodeStored(Buffer.from('2\n{"lengths":[]'))).toThrow(/header/);
  });
});
