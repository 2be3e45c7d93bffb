/**
 * Attachment ids: IMAP part numbers from a BODYSTRUCTURE (body-structure.ts),
 * bounded against hostile shapes, the parse's numbering of the same
 * structures (parse.ts), and the Content-Disposition a download answers
 * (RFC 6266, nothing of the sender's name able to break the header).
 */
import { Readable } from 'node:stream';
import type { MessageStructureObject } from 'imapflow';
import { describe, expect, it } from 'vitest';
import { bodyParts, findPart, MAX_DEPTH, MAX_PARTS } from '../../src/adapters/imap/body-structure.js';
import { parseMessage } from '../../src/adapters/mail/parse.js';
import { attachmentDisposition } from '../../src/http/content-disposition.js';

const leaf = (type: string, extra: Partial<MessageStructureObject> = {}): MessageStructureObject => ({ type, size: 10, encoding: 'base64', ...extra });
const multi = (childNodes: MessageStructureObject[]): MessageStructureObject => ({ type: 'multipart/mixed', childNodes });

describe('bodyParts', () => {
  it('numbers parts as IMAP does, whatever imapflow wrote in `part`', () => {
    // imapflow gives the single-part body of an encapsulated message its wrapper's number, and a single-part message none.
    expect(bodyParts(leaf('application/pdf', { part: undefined })).map((p) => p.part)).toEqual(['1']);
    const structure = multi([
      { type: 'multipart/alternative', childNodes: [leaf('text/plain'), multi([leaf('text/html'), leaf('application/pdf', { part: 'wrong' })])] },
      leaf('image/png', { id: '<logo@x>', disposition: 'inline', dispositionParameters: { filename: 'logo.png' } }),
      { ...leaf('message/rfc822'), childNodes: [multi([leaf('text/plain'), leaf('application/zip', { parameters: { name: 'a.zip' } })])] },
      { ...leaf('message/rfc822'), childNodes: [leaf('application/octet-stream', { part: '4' })] },
    ]);
    expect(bodyParts(structure).map((p) => [p.part, p.contentType])).toEqual([
      ['1.1', 'text/plain'], ['1.2.1', 'text/html'], ['1.2.2', 'application/pdf'], ['2', 'image/png'],
      ['3', 'message/rfc822'], ['3.1', 'text/plain'], ['3.2', 'application/zip'], ['4', 'message/rfc822'], ['4.1', 'application/octet-stream'],
    ]);
    expect(findPart(structure, '2')).toMatchObject({ contentId: 'logo@x', filename: 'logo.png', disposition: 'inline' });
    expect(findPart(structure, '3.2')?.filename).toBe('a.zip');
    // Multipart parts are no attachment.
    expect(findPart(structure, '1')).toBeUndefined();
    expect(findPart(structure, '1.2')).toBeUndefined();
  });

  it('walks a hostile structure within bounds: depth, parts, odd values', () => {
    let deep: MessageStructureObject = leaf('application/pdf');
    for (let i = 0; i < 10_000; i += 1) deep = multi([deep]);
    expect(bodyParts(deep)).toEqual([]);
    let shallow: MessageStructureObject = leaf('application/pdf');
    for (let i = 0; i < MAX_DEPTH - 1; i += 1) shallow = multi([shallow]);
    expect(bodyParts(shallow)).toHaveLength(1);
    expect(bodyParts(multi(Array.from({ length: 50_000 }, () => leaf('text/plain'))))).toHaveLength(MAX_PARTS);
    const odd = multi([
      null as unknown as MessageStructureObject,
      { type: 42, size: -5, parameters: 'x', id: {}, encoding: null } as unknown as MessageStructureObject,
      { type: 'message/rfc822', childNodes: [null] } as unknown as MessageStructureObject,
      { type: 'application/pdf', size: Number.NaN, dispositionParameters: { filename: 'x'.repeat(5_000) } },
    ]);
    const parts = bodyParts(odd);
    expect(parts.map((p) => p.part)).toEqual(['2', '3', '4']);
    expect(parts[0]).toMatchObject({ size: 0, encoding: null, contentId: null });
    expect(parts[2]?.filename).toHaveLength(1_024);
    expect(bodyParts(undefined)).toEqual([]);
  });
});

describe('parseMessage attachment ids', () => {
  const crlf = (lines: string[]) => Readable.from([Buffer.from(lines.join('\r\n'))]);

  it('are the part numbers: nested multiparts, a single-part message', async () => {
    const nested = await parseMessage(crlf([
      'From: a@example.org', 'Content-Type: multipart/mixed; boundary="m"', '', '--m',
      'Content-Type: multipart/alternative; boundary="a"', '', '--a', 'Content-Type: text/plain', '', 'hi', '--a',
      'Content-Type: multipart/mixed; boundary="i"', '', '--i', 'Content-Type: application/pdf; name="r.pdf"', '', 'pdf', '--i--', '--a--',
      '--m', 'Content-Type: image/png; name="p.png"', '', 'png', '--m--', '',
    ]), { maxBytes: 100_000 });
    expect(nested.attachments.map((a) => [a.id, a.filename])).toEqual([['1.2.1', 'r.pdf'], ['2', 'p.png']]);
    const single = await parseMessage(crlf(['From: a@example.org', 'Content-Type: application/pdf; name="only.pdf"', '', 'pdf', '']), { maxBytes: 100_000 });
    expect(single.attachments.map((a) => a.id)).toEqual(['1']);
  });
});

describe('attachmentDisposition', () => {
  it('an exact UTF-8 name and an ASCII stand-in without quotes, backslashes or percent signs', () => {
    expect(attachmentDisposition('report.pdf', 'x')).toBe('attachment; filename="report.pdf"; filename*=UTF-8\'\'report.pdf');
    expect(attachmentDisposition('résumé "final" 100%.csv', 'x')).toBe('attachment; filename="r_sum_ _final_ 100_.csv"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9%20%22final%22%20100%25.csv');
    expect(attachmentDisposition('日本.txt', 'x')).toBe('attachment; filename="__.txt"; filename*=UTF-8\'\'%E6%97%A5%E6%9C%AC.txt');
  });

  it('control characters, path separators and leading dots never reach the header; nothing left → the fallback', () => {
    const header = attachmentDisposition('../..\\etc/passwd\r\nX-Injected: 1\u0000\u2028.txt', 'x');
    expect([...header].every((c) => c >= ' ' && c <= '~')).toBe(true);
    expect(header).toBe('attachment; filename="_.._etc_passwd__X-Injected: 1__.txt"; filename*=UTF-8\'\'_.._etc_passwd__X-Injected%3A%201__.txt');
    expect(attachmentDisposition(null, '5-2')).toBe('attachment; filename="5-2"; filename*=UTF-8\'\'5-2');
    expect(attachmentDisposition('...', '5-2')).toBe('attachment; filename="5-2"; filename*=UTF-8\'\'5-2');
    expect(attachmentDisposition('a'.repeat(1_000), 'x')).toHaveLength('attachment; filename=""; filename*=UTF-8\'\''.length + 400);
  });
});
