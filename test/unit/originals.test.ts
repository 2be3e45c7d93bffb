/** Replies and forwards (issue 17): the fields filled in from the original, pure. */
import { describe, expect, it } from 'vitest';
import type { MessageViewT } from '../../src/domain/messages/model.js';
import { forwardInput, replyInput } from '../../src/domain/sending/originals.js';

const original = (over: Partial<MessageViewT> = {}): MessageViewT => ({
  uid: 7, folder: 'INBOX', size: 100, flags: [], messageId: '<o@x.org>', subject: 'Order', from: [{ name: 'C', address: 'c@x.org' }],
  to: [{ name: null, address: 'desk@contoso.example' }, { name: null, address: 'b@x.org' }], cc: [{ name: null, address: 'B@x.org' }],
  bcc: [], replyTo: [], date: null, inReplyTo: null, references: ['<r1@x.org>'], headers: [], headersTruncated: false, text: null, html: null, attachments: [], ...over,
});
const base = { mailboxId: 'm', text: 'hi' };

describe('replies', () => {
  it('answers the Reply-To (else the From), in the thread, with one Re:', () => {
    expect(replyInput({ ...base, reply: { uid: 7, folder: 'INBOX' } }, original(), ['desk@contoso.example'])).toMatchObject({
      to: ['c@x.org'], subject: 'Re: Order', inReplyTo: '<o@x.org>', references: ['<r1@x.org>', '<o@x.org>'],
    });
    expect(replyInput({ ...base, reply: { uid: 7, folder: 'INBOX' } }, original({ replyTo: [{ name: null, address: 'list@x.org' }], subject: 'RE: Order' }), [])).toMatchObject({
      to: ['list@x.org'], subject: 'RE: Order',
    });
  });

  it('replies to all without the mailbox\'s own addresses, duplicates or those already in to; the request\'s own fields win', () => {
    const all = replyInput({ ...base, reply: { uid: 7, folder: 'INBOX', all: true } }, original(), ['DESK@contoso.example']);
    expect(all).toMatchObject({ to: ['c@x.org'], cc: ['b@x.org'] });
    const own = replyInput({ ...base, reply: { uid: 7, folder: 'INBOX', all: true }, to: ['x@y.org'], subject: 'Mine' }, original(), []);
    expect(own).toMatchObject({ to: ['x@y.org'], subject: 'Mine' });
  });

  it('keeps the last 100 references, and none when the original has no Message-ID', () => {
    const long = original({ references: Array.from({ length: 150 }, (_, i) => `<r${i}@x.org>`) });
    const refs = replyInput({ ...base, reply: { uid: 7, folder: 'INBOX' } }, long, []).references!;
    expect(refs).toHaveLength(100);
    expect(refs[99]).toBe('<o@x.org>');
    const none = replyInput({ ...base, reply: { uid: 7, folder: 'INBOX' } }, original({ messageId: null, references: [] }), []);
    expect(none.inReplyTo).toBeUndefined();
    expect(none.references).toBeUndefined();
  });
});

describe('forwards', () => {
  it('attaches the original as message/rfc822 named after its subject, with one Fwd:', () => {
    const input = forwardInput({ ...base, forward: { uid: 7, folder: 'INBOX' }, to: ['boss@x.org'] }, original({ subject: 'Fw: a/b\r\nc' }), Buffer.from('Subject: x\r\n\r\ny'));
    expect(input.subject).toBe('Fw: a/b c');
    expect(input.attachments).toEqual([{ filename: 'Fw: a b  c.eml', contentType: 'message/rfc822', content: Buffer.from('Subject: x\r\n\r\ny').toString('base64') }]);
    expect(forwardInput({ ...base, forward: { uid: 7, folder: 'INBOX' } }, original({ subject: null }), Buffer.alloc(0)).subject).toBe('Fwd: ');
  });
});
