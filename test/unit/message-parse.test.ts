/** The mailparser adapter's bounds: bytes read, header blocks it refuses, dates and addresses it must not invent. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/adapters/mail/parse.js';
import { AppError } from '../../src/errors/errors.js';

const source = (raw: string | Buffer) => Readable.from([Buffer.from(raw)]);
const limits = { maxBytes: 1024 * 1024 };

describe('parseMessage', () => {
  it('counts the bytes itself: more than maxBytes fails with message_too_large, whatever the server said', async () => {
    const raw = `From: a@example.org\r\nSubject: big\r\n\r\n${'x'.repeat(5_000)}\r\n`;
    const err = await parseMessage(source(raw), { maxBytes: 4_096 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'message_too_large' });
  });

  it('a header block over 1 MiB → message_unparseable', async () => {
    const raw = `From: a@example.org\r\nX-Huge: ${'h'.repeat(1_100_000)}\r\n\r\nbody\r\n`;
    const err = await parseMessage(source(raw), { maxBytes: 4 * 1024 * 1024 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'message_unparseable' });
  });

  it('an unreadable Date header is null, not the current time', async () => {
    const parsed = await parseMessage(source('From: a@example.org\r\nDate: not a date\r\n\r\nx\r\n'), limits);
    expect(parsed.date).toBeNull();
  });

  it('groups are flattened into their members; missing headers are empty, not invented', async () => {
    const raw = 'From: "A, B" <a@example.org>\r\nTo: Team: b@example.org, C <c@example.org>;\r\n\r\nx\r\n';
    const parsed = await parseMessage(source(raw), limits);
    expect(parsed.from).toEqual([{ name: 'A, B', address: 'a@example.org' }]);
    expect(parsed.to).toEqual([{ name: null, address: 'b@example.org' }, { name: 'C', address: 'c@example.org' }]);
    expect(parsed).toMatchObject({ cc: [], subject: null, messageId: null, html: null, attachments: [], references: [] });
  });

  it('HTML is kept as written (no text generated from it, nothing sanitized)', async () => {
    const html = '<p onclick="x()">Hi<script>alert(1)</script></p>';
    const parsed = await parseMessage(source(`From: a@example.org\r\nContent-Type: text/html\r\n\r\n${html}\r\n`), limits);
    expect(parsed.html).toContain('<script>alert(1)</script>');
    expect(parsed.text).toBeNull();
  });

  it('a failing source fails the parse with the source\'s error', async () => {
    const failing = new Readable({ read() { this.destroy(new AppError('imap_unreachable', 'gone')); } });
    await expect(parseMessage(failing, limits)).rejects.toMatchObject({ code: 'imap_unreachable' });
  });
});
