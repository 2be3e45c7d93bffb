/** `raw` messages (issue 17): what is read of them, what is refused, and what is changed before SMTP. */
import { describe, expect, it } from 'vitest';
import { addressesOf, checkRaw, prepareRaw } from '../../src/domain/sending/raw-message.js';
import { decodeStored, encodeStored, outgoingMail, storedMessage } from '../../src/domain/sending/message.js';
import { checkSend } from '../../src/domain/sending/validate.js';

const LIMITS = { maxMessageBytes: 10_000, maxRecipients: 10 };
const SIGNED = [
  'From: Agent <agent@contoso.example>',
  'To: "Doe, Jane" <jane@example.org>, bob@example.org (Bob)',
  'Cc: Team: carol@example.org, dan@example.org;',
  'Bcc: hidden@example.org,',
  ' second-hidden@example.org',
  'Subject: Signed',
  'MIME-Version: 1.0',
  'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"',
  '',
  '--s',
  'Content-Type: text/plain',
  '',
  'Bcc: this line is body, not a header',
  '--s--',
  '',
].join('\r\n');
const b64 = (text: string): string => Buffer.from(text, 'latin1').toString('base64');

describe('raw messages', () => {
  it('reads the envelope from To, Cc and Bcc, with display names, comments and groups', () => {
    expect(addressesOf('"Doe, Jane" <jane@example.org>, bob@example.org (Bob)')).toEqual(['jane@example.org', 'bob@example.org']);
    expect(checkRaw(Buffer.from(SIGNED))).toEqual({
      recipients: ['jane@example.org', 'bob@example.org', 'carol@example.org', 'dan@example.org', 'hidden@example.org', 'second-hidden@example.org'],
      messageId: null,
      problems: [],
    });
  });

  it('takes out Bcc header fields only, adds Message-ID, Date and X-Mailsync-Send-Id, and leaves the body byte for byte', () => {
    const out = prepareRaw(Buffer.from(SIGNED), { sendId: 'snd_AAAAAAAAAAAAAAAA', messageId: '<snd_AAAAAAAAAAAAAAAA.x@contoso.example>', date: new Date('2026-12-06T10:00:00Z') }).toString('latin1');
    expect(out.startsWith('X-Mailsync-Send-Id: snd_AAAAAAAAAAAAAAAA\r\nMessage-ID: <snd_AAAAAAAAAAAAAAAA.x@contoso.example>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nFrom: Agent')).toBe(true);
    expect(out).not.toContain('hidden@example.org');
    expect(out.slice(out.indexOf('\r\n\r\n'))).toBe(SIGNED.slice(SIGNED.indexOf('\r\n\r\n')));
    // Its own Message-ID and Date are kept; X-Mailsync-* fields it brought are replaced.
    const own = `Message-ID: <own@contoso.example>\r\nDate: Mon, 7 Dec 2026 08:00:00 +0100\r\nX-Mailsync-Send-Id: snd_BBBBBBBBBBBBBBBB\r\n${SIGNED}`;
    const kept = prepareRaw(Buffer.from(own), { sendId: 'snd_AAAAAAAAAAAAAAAA', messageId: '<m@x>', date: new Date(0) }).toString('latin1');
    expect(kept.match(/^Message-ID:/gim)).toHaveLength(1);
    expect(kept).toContain('Message-ID: <own@contoso.example>');
    expect(kept).not.toContain('snd_BBBBBBBBBBBBBBBB');
    expect(checkRaw(Buffer.from(own)).messageId).toBe('<own@contoso.example>');
  });

  it('refuses raw with structured fields, not base64, without From or an empty line, with an address that is none, or too large', () => {
    const problems = (input: Record<string, unknown>, limits = LIMITS) => {
      try {
        checkSend({ mailboxId: 'm', ...input }, limits);
        return [];
      } catch (err) {
        return (err as { fields?: { errors?: { field: string; message: string }[] }; code: string }).fields?.errors?.map((e) => e.message) ?? [(err as { code: string }).code];
      }
    };
    expect(problems({ raw: b64(SIGNED), subject: 'x', text: 'y' })).toEqual(['is the whole message: send it without subject, text']);
    expect(problems({ raw: 'not base64!' })).toEqual(['must be standard base64 with padding, without line breaks or spaces']);
    expect(problems({ raw: b64('Subject: x\r\n\r\nbody') })[0]).toMatch(/From/);
    expect(problems({ raw: b64('From: a@contoso.example\r\nTo: b@example.org') })[0]).toMatch(/empty line/);
    expect(problems({ raw: b64('From: a@contoso.example\r\nTo: Jane <not an address>\r\n\r\nx') })[0]).toMatch(/To field holds "not an address"/);
    expect(problems({ raw: b64('From: a@contoso.example\r\n\r\nx') })[0]).toMatch(/at least one recipient/);
    expect(problems({ raw: b64(SIGNED) }, { ...LIMITS, maxMessageBytes: 100 })).toEqual(['payload_too_large']);
    // The request's recipients, when given, are the envelope; the header fields are not read for it.
    expect(checkSend({ mailboxId: 'm', raw: b64(SIGNED), to: ['only@example.org'] }, LIMITS)).toMatchObject({ recipients: 1 });
    expect(checkSend({ mailboxId: 'm', raw: b64(SIGNED) }, LIMITS)).toMatchObject({ recipients: 6, rawMessageId: null });
  });

  it('stores the raw message and its envelope, and hands SMTP the prepared message', () => {
    const stored = storedMessage({ mailboxId: 'm', raw: b64(SIGNED) }, 'agent@contoso.example', '<snd_AAAAAAAAAAAAAAAA.x@contoso.example>', new Date(0), ['jane@example.org', 'hidden@example.org']);
    const back = decodeStored(Buffer.concat(encodeStored(stored)));
    expect(back).toEqual({ ...stored, raw: [Buffer.concat(stored.raw!)] });
    const mail = outgoingMail(back, 'snd_AAAAAAAAAAAAAAAA');
    expect(mail.to).toEqual(['jane@example.org', 'hidden@example.org']);
    expect(mail.raw?.toString('latin1')).toContain('X-Mailsync-Send-Id: snd_AAAAAAAAAAAAAAAA');
    const sent = mail.raw!.toString('latin1');
    expect(sent.slice(0, sent.indexOf('\r\n\r\n'))).not.toMatch(/^Bcc:/im);
    expect(sent).toContain('\r\nBcc: this line is body, not a header\r\n');
  });
});
