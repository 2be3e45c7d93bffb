/**
 * Sending schemas: the API contract (api.md, Sending), checked against the
 * domain's types (domain/sending/model.ts). The schema bounds shapes and
 * lengths; what an address, a header or base64 must look like (header
 * injection, display-name tricks) is checked in domain/sending/validate.ts,
 * which gives each refusal its own words.
 */
import { Type, type Static, type TSchema } from 'typebox';
import type { BounceT, SendForwardT, SendReplyT, RejectedRecipientT, SendAcceptedT, SendErrorT, SendFromT, SendInput, SendStatusT, SendViewT } from '../../domain/sending/model.js';
import type { Check, Same } from './same.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });

const Address = Type.String({
  minLength: 3,
  maxLength: 254,
  description: 'A bare address, `local@domain` (ASCII, no display name, no comments).',
  examples: ['customer@example.com'],
});
const Recipients = Type.Array(Address, { maxItems: 1000 });
const MessageIdRef = Type.String({ minLength: 3, maxLength: 998, description: 'A Message-ID with its angle brackets: `<id@host>`.' });

export const SendAttachment = Type.Object(
  {
    filename: Type.String({ minLength: 1, maxLength: 255, description: 'A file name, not a path: no `/`, `\\` or control characters.' }),
    contentType: Type.Optional(Type.String({ minLength: 3, maxLength: 255, description: 'A MIME type (`application/pdf`); guessed from the file name when absent.' })),
    content: Type.String({ description: 'The file, in standard base64 (RFC 4648, with padding, no line breaks).' }),
  },
  { additionalProperties: false },
);

const OriginalUid = Type.Integer({ minimum: 1, maximum: 4_294_967_295, description: "The original's UID in `folder`." });
const OriginalFolder = Type.String({ minLength: 1, maxLength: 255, description: 'The folder it is in (a name, or a special use such as \\Sent).' });

export const SendForward = Type.Object(
  { uid: OriginalUid, folder: OriginalFolder },
  { additionalProperties: false, description: 'Forward this message of the mailbox: attached whole (message/rfc822), subject "Fwd: …" when omitted; marked $Forwarded once sent.' },
);

export const SendReply = Type.Object(
  {
    uid: OriginalUid,
    folder: OriginalFolder,
    all: Type.Optional(Type.Boolean({ description: 'Reply to all: its other recipients in cc (not the mailbox\'s own addresses).' })),
  },
  {
    additionalProperties: false,
    description: 'Answer this message of the mailbox: In-Reply-To and References from it, subject "Re: …" and to (its Reply-To, else its From) when omitted; marked \\Answered once sent.',
  },
);

export const SendFrom = Type.Object(
  {
    name: Type.Optional(Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'The display name (`Sales`): no control characters, quotes, angle brackets, backslashes, commas, semicolons or `@`.',
    })),
    address: Address,
  },
  {
    additionalProperties: false,
    description: "Send as a shared mailbox, alias or group the mailbox may Send As (Exchange's Add-RecipientPermission). The From header names it; the SMTP session authenticates as the mailbox.",
  },
);

export const SendBody = Type.Object(
  {
    mailboxId: Type.String({ maxLength: 64, description: 'The mailbox that sends (its address is the From unless `from` is given).' }),
    from: Type.Optional(SendFrom),
    to: Type.Optional(Recipients),
    cc: Type.Optional(Recipients),
    bcc: Type.Optional(Recipients),
    replyTo: Type.Optional(Address),
    subject: Type.Optional(Type.String({ maxLength: 998 })),
    text: Type.Optional(Type.String({ description: 'The plain-text body.' })),
    html: Type.Optional(Type.String({ description: 'The HTML body.' })),
    attachments: Type.Optional(Type.Array(SendAttachment, { maxItems: 100 })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 998 }), {
      maxProperties: 50,
      description: 'Extra header fields (`X-Ticket`). Fields the service writes itself (From, To, Subject, Message-ID, Date, MIME…) cannot be set here.',
    })),
    inReplyTo: Type.Optional(MessageIdRef),
    references: Type.Optional(Type.Array(MessageIdRef, { maxItems: 100 })),
    reply: Type.Optional(SendReply),
    forward: Type.Optional(SendForward),
    raw: Type.Optional(Type.String({
      description: 'A whole RFC 5322 message in standard base64, sent as given (S/MIME, calendar invitations) instead of '
        + 'from, subject, text, html, attachments, headers, replyTo, inReplyTo and references. Envelope recipients: to, cc '
        + 'and bcc when given, else the addresses in its To, Cc and Bcc fields; its Bcc fields are taken out; Message-ID '
        + 'and Date are added when missing, and X-Mailsync-Send-Id always.',
    })),
    sendAt: Type.Optional(Type.String({
      format: 'date-time',
      maxLength: 64,
      description: 'Send at this time (RFC 3339 with a time zone), at most 30 days ahead: the message is `scheduled` until then, '
        + 'and can be canceled (DELETE /v1/send/{id}) until a worker takes it. A time not in the future is sent at once.',
      examples: ['2026-05-01T09:00:00Z'],
    })),
  },
  {
    additionalProperties: false,
    description: 'At least one recipient in to, cc or bcc; text + html + decoded attachments within SEND_MAX_MESSAGE_BYTES.',
  },
);

/** Idempotency-Key: visible ASCII, as clients make them (UUIDs, order numbers). */
export const SendHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    minLength: 1,
    maxLength: 255,
    pattern: '^[\\x21-\\x7E]+$',
    description: 'Retrying with the same key and the same body answers the first response again (for 24 h); another body is a 422.',
  })),
});

export const SendStatus = Type.Union([
  Type.Literal('scheduled'), Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('failed'), Type.Literal('canceled'),
], {
  description: '`scheduled` until its sendAt; `queued` waiting for a worker (or for a retry); `sending` being handed to the mail server; '
    + '`sent` or `failed` finished; `canceled` by DELETE /v1/send/{id}, never sent.',
});

export const SendAccepted = Type.Object(
  {
    id: Type.String(),
    status: Type.Union([Type.Literal('scheduled'), Type.Literal('queued')], { description: '`scheduled` when sendAt is in the future, else `queued`.' }),
  },
  { additionalProperties: false },
);

export const SendError = Type.Object(
  { code: Type.String(), detail: Type.String(), hint: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

export const RejectedRecipient = Type.Object(
  { address: Type.String(), responseCode: Nullable(Type.Integer()), response: Type.String({ description: "The server's reply to RCPT TO." }) },
  { additionalProperties: false },
);

export const Bounce = Type.Object(
  {
    recipient: Type.String(),
    action: Type.Union([Type.Literal('failed'), Type.Literal('delayed')], { description: '`delayed`: the reporting server keeps trying.' }),
    status: Nullable(Type.String({ description: 'The enhanced status code (`5.1.1`).' })),
    diagnosticCode: Nullable(Type.String({ description: "The reporting server's Diagnostic-Code." })),
    at: Timestamp,
  },
  { additionalProperties: false, description: 'What a delivery status notification said of one recipient.' },
);

export const SendView = Type.Object(
  {
    id: Type.String(),
    mailboxId: Type.String(),
    status: SendStatus,
    attempts: Type.Integer({ minimum: 0, description: 'Submission attempts so far (a worker that died mid-attempt counts too).' }),
    messageId: Type.String({ description: 'The Message-ID header, fixed when the message was accepted.' }),
    smtpResponse: Nullable(Type.String({ description: "The server's answer to the message (`250 2.0.0 OK …`)." })),
    error: Nullable(Type.Object(SendError.properties, {
      additionalProperties: false,
      description: 'Why it failed; while `queued` after a transient failure, the failure it waits to retry.',
    })),
    rejectedRecipients: Type.Array(RejectedRecipient, {
      description: 'Recipients the server refused; a `sent` message went to every other recipient.',
    }),
    contentReleasedAt: Nullable(Type.String({
      format: 'date-time',
      description: 'When the stored message (bodies, attachments) is or was deleted: when it was sent or failed for good, '
        + 'plus SEND_RETENTION_SECONDS (default 0), or when it was canceled. The record stays. Null until then.',
    })),
    bounces: Type.Array(Bounce, {
      description: 'Delivery status notifications about the message that arrived in a watched folder of its mailbox (also announced as `message.bounced`).',
    }),
    sendAt: Type.Optional(Type.String({ format: 'date-time', description: 'The time the message was scheduled for, when it was given one (sendAt).' })),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);

export type SendingSchemasAgree = [
  Check<Same<Static<typeof SendFrom>, SendFromT>>,
  Check<Same<Static<typeof SendReply>, SendReplyT>>,
  Check<Same<Static<typeof SendForward>, SendForwardT>>,
  Check<Same<Static<typeof SendBody>, SendInput>>,
  Check<Same<Static<typeof SendStatus>, SendStatusT>>,
  Check<Same<Static<typeof SendAccepted>, SendAcceptedT>>,
  Check<Same<Static<typeof SendError>, SendErrorT>>,
  Check<Same<Static<typeof RejectedRecipient>, RejectedRecipientT>>,
  Check<Same<Static<typeof Bounce>, BounceT>>,
  Check<Same<Static<typeof SendView>, SendViewT>>,
];
