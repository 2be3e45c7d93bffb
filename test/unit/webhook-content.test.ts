/**
 * Content in webhooks, the pure parts: cutting at a UTF-8 character boundary, the bounds of the
 * header and attachment lists, which delivery carries what, bodies spliced from stored members,
 * and what a poll does with a message it cannot download or parse.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/adapters/mail/parse.js';
import { newEvent, type DomainEvent } from '../../src/domain/events/events.js';
import { cutUtf8, MAX_ATTACHMENTS, MAX_BODY_BYTES, MAX_LIST_BYTES, messageContent, type MessageContent } from '../../src/domain/events/message-content.js';
import { fetchContent, type ContentSession } from '../../src/domain/polling/content.js';
import { deliveredBody, membersOf, planContent, withMembers } from '../../src/domain/webhooks/content.js';
import { bodyOf } from '../../src/domain/webhooks/records.js';
import { AppError } from '../../src/errors/errors.js';

describe('cutUtf8', () => {
  it('keeps what fits, and cuts before a character the limit falls inside', () => {
    expect(cutUtf8('héllo', 6)).toEqual({ value: 'héllo', truncated: false });
    expect(cutUtf8('héllo', 5)).toEqual({ value: 'héll', truncated: true });
    // 'é' is bytes 1–2: a cut at 2 would split it.
    expect(cutUtf8('héllo', 2)).toEqual({ value: 'h', truncated: true });
    expect(cutUtf8('€€', 5)).toEqual({ value: '€', truncated: true });
    expect(cutUtf8('€€', 6)).toEqual({ value: '€€', truncated: false });
    expect(cutUtf8('', 0)).toEqual({ value: '', truncated: false });
  });

  it('never splits a surrogate pair (4 bytes in UTF-8)', () => {
    for (let limit = 1; limit <= 12; limit++) {
      const { value } = cutUtf8('a😀b😀c', limit);
      expect(value).not.toContain('\uFFFD');
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(limit);
      expect('a😀b😀c'.startsWith(value)).toBe(true);
    }
  });

  it('cuts a long text at the limit whatever sits there', () => {
    for (const char of ['a', 'é', '€', '😀']) {
      const text = char.repeat(MAX_BODY_BYTES);
      const { value, truncated } = cutUtf8(text, MAX_BODY_BYTES);
      expect(truncated).toBe(char !== 'a' || false);
      const bytes = Buffer.byteLength(value);
      expect(bytes).toBeLessThanOrEqual(MAX_BODY_BYTES);
      expect(bytes).toBeGreaterThan(MAX_BODY_BYTES - Buffer.byteLength(char));
      expect(text.startsWith(value)).toBe(true);
    }
    expect(cutUtf8('a'.repeat(MAX_BODY_BYTES + 1), MAX_BODY_BYTES)).toEqual({ value: 'a'.repeat(MAX_BODY_BYTES), truncated: true });
  });
});

describe('messageContent', () => {
  const parsed = (over: Partial<Parameters<typeof messageContent>[0]> = {}) => ({
    text: 'hi', html: null, headers: [{ name: 'Subject', value: 'x' }], headersTruncated: false, attachments: [], ...over,
  });

  it('bounds the header list by its JSON size, in order, and says so', () => {
    const headers = Array.from({ length: 500 }, (_, i) => ({ name: `X-H${i}`, value: 'v'.repeat(1_000) }));
    const content = messageContent(parsed({ headers }));
    expect(content.headersTruncated).toBe(true);
    expect(content.headers.length).toBeGreaterThan(50);
    expect(content.headers).toEqual(headers.slice(0, content.headers.length));
    expect(Buffer.byteLength(JSON.stringify(content.headers))).toBeLessThanOrEqual(MAX_LIST_BYTES);
    // Truncated by the parser already (values cut, lines dropped): still said.
    expect(messageContent(parsed({ headersTruncated: true })).headersTruncated).toBe(true);
  });

  it('bounds the attachment list by count and size', () => {
    const attachment = (i: number) => ({ id: String(i + 2), filename: `f${i}.txt`, contentType: 'text/plain', size: 1, contentId: null, checksum: 'c'.repeat(64), disposition: 'attachment' });
    const many = messageContent(parsed({ attachments: Array.from({ length: 1_000 }, (_, i) => attachment(i)) }));
    expect(many.attachments).toHaveLength(MAX_ATTACHMENTS);
    expect(many.attachmentsTruncated).toBe(true);
    const long = messageContent(parsed({ attachments: Array.from({ length: 90 }, (_, i) => ({ ...attachment(i), filename: 'n'.repeat(1_024) })) }));
    expect(long.attachmentsTruncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(long.attachments))).toBeLessThanOrEqual(MAX_LIST_BYTES);
    expect(messageContent(parsed({ attachments: [attachment(1)] }))).toMatchObject({ attachments: [attachment(1)], attachmentsTruncated: false });
  });

  it('keeps a missing text or HTML as null', () => {
    expect(messageContent(parsed({ text: null }))).toMatchObject({ text: null, textTruncated: false, html: null, htmlTruncated: false });
  });
});

const CONTENT: MessageContent = {
  text: 'Hello "you"\n', textTruncated: false, html: '<p>Hi</p>', htmlTruncated: true,
  headers: [{ name: 'Subject', value: 'Hi' }], headersTruncated: false, attachments: [], attachmentsTruncated: false,
};

const received = (content?: DomainEvent['content']): DomainEvent => {
  const event = newEvent('message.received', {
    mailboxId: 'mbx_AAAAAAAAAAAAAAAA', email: 'a@b.example', folder: 'INBOX', uidValidity: 1, uid: 2,
    messageId: null, subject: 's', from: [], to: [], cc: [], date: null, size: 10,
  }, 'msg_x');
  return content ? { ...event, content } : event;
};

describe('delivery bodies', () => {
  it('adds members at the end of data, as JSON', () => {
    const event = received();
    const body = bodyOf(event);
    const spliced = withMembers(body, [membersOf(CONTENT, 'text'), membersOf(CONTENT, 'headers')]);
    expect(JSON.parse(spliced)).toEqual({
      type: event.type, timestamp: event.timestamp,
      data: { ...event.data, text: CONTENT.text, textTruncated: false, headers: CONTENT.headers, headersTruncated: false },
    });
    expect(withMembers(body, [])).toBe(body);
    expect(JSON.parse(withMembers('{"type":"x","data":{}}', ['"a":1']))).toEqual({ type: 'x', data: { a: 1 } });
    expect(JSON.parse(deliveredBody(body, null)).data.contentOmitted).toBe('expired');
  });

  it('gives a subscription without include the envelope body as it is, and stores the union of the parts once', () => {
    const bare = received();
    const event: DomainEvent = { ...bare, content: { ok: true, content: CONTENT } };
    const body = bodyOf(event);
    // The same event without content: one built later would carry another timestamp.
    expect(body).toBe(bodyOf(bare));
    const plan = planContent(event, body, [{ include: [] }, { include: ['html', 'text'] }, { include: ['headers'] }]);
    expect(plan.deliveries).toEqual([{ kind: 'none' }, { kind: 'parts', parts: ['text', 'html'] }, { kind: 'parts', parts: ['headers'] }]);
    expect(plan.stored.map(([part]) => part)).toEqual(['text', 'html', 'headers']);
    expect(plan.omittedBody).toBeUndefined();
  });

  it('sends the reason instead when the event has no content, and never content for other events', () => {
    const tooLarge = received({ ok: false, omitted: 'too_large' });
    const plan = planContent(tooLarge, bodyOf(tooLarge), [{ include: ['text'] }, { include: [] }]);
    expect(plan.deliveries).toEqual([{ kind: 'omitted' }, { kind: 'none' }]);
    expect(plan.stored).toEqual([]);
    expect(JSON.parse(plan.omittedBody!).data.contentOmitted).toBe('too_large');
    // A subscription created while the poll ran (nothing was fetched).
    const none = received();
    expect(JSON.parse(planContent(none, bodyOf(none), [{ include: ['text'] }]).omittedBody!).data.contentOmitted).toBe('unavailable');
    const sent = newEvent('message.sent', { sendId: 'snd_x', mailboxId: 'mbx_AAAAAAAAAAAAAAAA', messageId: null, smtpResponse: null });
    expect(planContent(sent, bodyOf(sent), [{ include: ['text'] }]).deliveries).toEqual([{ kind: 'none' }]);
  });
});

describe('fetchContent', () => {
  const envelope = { uid: 7, messageId: null, subject: null, from: [], to: [], cc: [], date: null, size: 100 };
  const ports = { parse: parseMessage, maxBytes: 4_096 };
  const session = (download: ContentSession['download'], usable = true): ContentSession & { calls: number } => {
    const s = { usable, calls: 0, download: (path: string, uid: number, max: number) => { s.calls += 1; return download(path, uid, max); } };
    return s;
  };
  const source = (raw: string) => Readable.from([Buffer.from(raw)]);

  it('parses what it downloads', async () => {
    const s = session(async () => source('Subject: hi\r\n\r\nhello\r\n'));
    expect(await fetchContent(s, 'INBOX', envelope, ports)).toMatchObject({ ok: true, content: { text: 'hello\n' } });
  });

  it('does not download a message the server says is too large; counts the bytes of one it under-reports', async () => {
    const s = session(async () => source(`Subject: big\r\n\r\n${'x'.repeat(5_000)}\r\n`));
    expect(await fetchContent(s, 'INBOX', { ...envelope, size: 5_000 }, ports)).toEqual({ ok: false, omitted: 'too_large' });
    expect(s.calls).toBe(0);
    expect(await fetchContent(s, 'INBOX', envelope, ports)).toEqual({ ok: false, omitted: 'too_large' });
  });

  it('a message gone, or whose download fails, is announced without content', async () => {
    expect(await fetchContent(session(async () => undefined), 'INBOX', envelope, ports)).toEqual({ ok: false, omitted: 'unavailable' });
    const failing = session(async () => new Readable({ read() { this.destroy(new AppError('imap_unreachable', 'gone')); } }));
    expect(await fetchContent(failing, 'INBOX', envelope, ports)).toEqual({ ok: false, omitted: 'unavailable' });
    const throwing = session(async () => { throw new AppError('imap_unreachable', 'gone'); });
    expect(await fetchContent(throwing, 'INBOX', envelope, ports)).toEqual({ ok: false, omitted: 'unavailable' });
  });

  it('a session already broken fails the poll (the next one announces the rest with content)', async () => {
    const broken = session(async () => { throw new AppError('imap_not_connected', 'closed'); }, false);
    await expect(fetchContent(broken, 'INBOX', envelope, ports)).rejects.toMatchObject({ code: 'imap_not_connected' });
  });

  it('maps the parser refusing a message to unparseable', async () => {
    const refusing = { parse: async () => { throw new AppError('message_unparseable', 'no'); }, maxBytes: 4_096 };
    expect(await fetchContent(session(async () => source('x')), 'INBOX', envelope, refusing)).toEqual({ ok: false, omitted: 'unparseable' });
  });
});
