/** Mail reading schemas: the API contract (api.md, Mailboxes → Reading mail), checked against the domain's types (domain/messages/model.ts). */
import { Type, type Static } from 'typebox';
import {
  DEFAULT_FOLDER, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_SEARCH_TEXT,
  type AddressT, type AttachmentViewT, type EnvelopeViewT, type HeaderT, type ListMessagesQueryT, type MessagePageT,
  type MessageQueryT, type MessageViewT,
} from '../../domain/messages/model.js';
import type { Check, Same } from './same.js';

/** IMAP UIDs are non-zero 32-bit unsigned numbers (RFC 3501 2.3.1.1). */
export const Uid = Type.Integer({ minimum: 1, maximum: 4_294_967_295 });
const NullableString = (description?: string) => Type.Union([Type.String(), Type.Null()], description ? { description } : {});


const FolderQuery = Type.String({
  minLength: 1,
  maxLength: 200,
  default: DEFAULT_FOLDER,
  description: 'A folder path as IMAP lists it (INBOX, Archive/2024) or a special use (\\Sent, \\Junk, \\Drafts, \\Trash, \\Archive). Default INBOX.',
});


/**
 * A search string: no control characters (CR and LF end an IMAP command line; imapflow quotes or
 * sends as a literal anything else, quotes and backslashes included), not only blanks.
 */
const SearchText = (what: string) => Type.String({
  minLength: 1,
  maxLength: MAX_SEARCH_TEXT,
  pattern: '^[^\\u0000-\\u001F\\u007F]*[^\\s\\u0000-\\u001F\\u007F][^\\u0000-\\u001F\\u007F]*$',
  description: `${what}: a substring, case-insensitive (IMAP SEARCH). 1 to ${MAX_SEARCH_TEXT} characters, no control characters.`,
});

/** A calendar day. Checked to exist (2025-02-30 is refused) by the reader. */
const SearchDay = (description: string) => Type.String({ format: 'date', maxLength: 10, description });

const SearchFlag = (description: string) => Type.Boolean({ description });

export const ListMessagesQuery = Type.Object(
  {
    folder: Type.Optional(FolderQuery),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Messages per page, 1 to 200. Default 50.' })),
    cursor: Type.Optional(Type.String({
      minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$',
      description: 'The `nextCursor` of the previous page (opaque). Not together with `beforeUid`.',
    })),
    beforeUid: Type.Optional(Type.Integer({
      minimum: 1, maximum: 4_294_967_295,
      description: 'Only messages with a smaller UID: the `nextBeforeUid` of the previous page. Not together with `cursor`.',
    })),
    from: Type.Optional(SearchText('From header')),
    to: Type.Optional(SearchText('To header')),
    subject: Type.Optional(SearchText('Subject')),
    text: Type.Optional(SearchText('Headers or body (IMAP TEXT)')),
    since: Type.Optional(SearchDay(
      'Received on or after this day, YYYY-MM-DD. Day-granular: IMAP SEARCH compares dates without their time (the server\'s received date, INTERNALDATE).',
    )),
    before: Type.Optional(SearchDay('Received before this day (exclusive), YYYY-MM-DD. Day-granular like `since`; must be after `since`.')),
    seen: Type.Optional(SearchFlag('true: only read messages (\\Seen); false: only unread ones.')),
    flagged: Type.Optional(SearchFlag('true: only flagged messages (\\Flagged); false: only the others.')),
  },
  { additionalProperties: false },
);

export const MessageQuery = Type.Object({ folder: Type.Optional(FolderQuery) }, { additionalProperties: false });

export const Address = Type.Object(
  { name: NullableString('Display name, decoded.'), address: NullableString() },
  { additionalProperties: false },
);

const Flags = Type.Array(Type.String(), { description: 'IMAP flags: \\Seen, \\Answered, \\Flagged, \\Draft, keywords.' });

export const EnvelopeView = Type.Object(
  {
    uid: Uid,
    messageId: NullableString(),
    subject: NullableString('Decoded; at most 998 characters.'),
    from: Type.Array(Address),
    to: Type.Array(Address),
    cc: Type.Array(Address),
    date: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The Date header; null when missing or unparseable.' }),
    size: Type.Union([Type.Integer(), Type.Null()], { description: 'RFC822.SIZE in bytes.' }),
    flags: Flags,
    envelopeTooLarge: Type.Optional(Type.Boolean({
      description: 'Present (true) when the server\'s envelope of this message was larger than mailsync accepts (an enormous header): only uid, size and flags are filled; read the message by its UID.',
    })),
  },
  { additionalProperties: false },
);

export const MessagePage = Type.Object(
  {
    folder: Type.String({ description: 'The folder path the request resolved to (a special use resolves to a path).' }),
    uidValidity: Type.Integer({ description: 'UIDs are valid only together with this value: when it changes, start again from the first page.' }),
    items: Type.Array(EnvelopeView, { description: 'Newest (highest UID) first.' }),
    nextBeforeUid: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as beforeUid for the next page; null on the last page.' }),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` for the next page (same filters); null on the last page. Unlike `nextBeforeUid` it carries the folder\'s UIDVALIDITY: a cursor from before a UIDVALIDITY change is refused instead of naming other messages.',
    }),
  },
  { additionalProperties: false },
);

export const Header = Type.Object({ name: Type.String(), value: Type.String() }, { additionalProperties: false });

export const AttachmentView = Type.Object(
  {
    id: Type.String({
      description: 'The IMAP part number ("2", "1.2"): stable, the same from any listing; download the part with GET …/messages/{uid}/attachments/{id}.',
    }),
    filename: NullableString(),
    contentType: Type.String(),
    size: Type.Integer({ description: 'Decoded size in bytes.' }),
    contentId: NullableString('Content-ID without angle brackets: what cid: URLs in the HTML name.'),
    checksum: Type.String({ description: 'SHA-256 of the decoded content, hex.' }),
    disposition: NullableString('attachment, inline, or null when the part gave none.'),
  },
  { additionalProperties: false },
);

export const MessageView = Type.Object(
  {
    uid: Uid,
    folder: Type.String(),
    size: Type.Integer({ description: 'RFC822.SIZE in bytes.' }),
    flags: Flags,
    messageId: NullableString(),
    subject: NullableString(),
    from: Type.Array(Address),
    to: Type.Array(Address),
    cc: Type.Array(Address),
    bcc: Type.Array(Address),
    replyTo: Type.Array(Address),
    date: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    inReplyTo: NullableString(),
    references: Type.Array(Type.String()),
    headers: Type.Array(Header, {
      description: 'Top-level header lines in order, unfolded, encoded words not decoded. At most 500, values cut at 8 192 characters.',
    }),
    headersTruncated: Type.Boolean({ description: 'true when header lines were dropped or values cut; GET …/raw has them all.' }),
    text: NullableString('The text/plain parts.'),
    html: NullableString('The text/html parts as stored, NOT sanitized: sanitize before rendering. cid: links are kept.'),
    attachments: Type.Array(AttachmentView, { description: 'Metadata only; GET …/attachments/{id} has each body, GET …/raw the whole message.' }),
  },
  { additionalProperties: false },
);

export type MessageSchemasAgree = [
  Check<Same<Static<typeof ListMessagesQuery>, ListMessagesQueryT>>,
  Check<Same<Static<typeof MessageQuery>, MessageQueryT>>,
  Check<Same<Static<typeof EnvelopeView>, EnvelopeViewT>>,
  Check<Same<Static<typeof MessagePage>, MessagePageT>>,
  Check<Same<Static<typeof MessageView>, MessageViewT>>,
  Check<Same<Static<typeof Address>, AddressT>>,
  Check<Same<Static<typeof Header>, HeaderT>>,
  Check<Same<Static<typeof AttachmentView>, AttachmentViewT>>,
];
