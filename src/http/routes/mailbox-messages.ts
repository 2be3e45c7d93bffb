/** GET /v1/mailboxes/{id}/messages…: reading and searching mail, downloading attachments; thin handlers over the message reader. */
import { Type } from 'typebox';
import type { TypedApp } from '../typed-routes.js';
import type { MessageReader } from '../../domain/messages/reader.js';
import {
  ListMessagesQuery, MessagePage, MessageQuery, MessageView,
} from '../schemas/messages.js';
import { attachmentDisposition } from '../content-disposition.js';
import { problemResponses } from '../schemas/problem.js';
import { AttachmentParams, IdParams, MessageParams } from '../schemas/id-params.js';

const listConfig = { scope: 'read', pathIds: { id: 'mbx' } } as const;
const messageConfig = { scope: 'read', pathIds: { id: 'mbx', uid: 'uid' } } as const;
const attachmentConfig = { scope: 'read', pathIds: { id: 'mbx', uid: 'uid', attachmentId: 'part' } } as const;
const security = [{ apiKey: [] }];
const tags = ['mailboxes'];
/** Token and IMAP failures: 409 (never signed in), 422 (refused: the hint says what to fix), 502/503/504 (down, throttled, timed out). */
const UPSTREAM = [409, 422, 502, 503, 504] as const;

export function mailboxMessageRoutes(reader: Pick<MessageReader, 'list' | 'get' | 'raw' | 'attachment'>) {
  return async (app: TypedApp): Promise<void> => {
    // No automatic HEAD routes: a HEAD of …/raw would download the whole message only to discard it.
    app.get('/mailboxes/:id/messages', {
      config: listConfig,
      exposeHeadRoute: false,
      schema: {
        tags, security, summary: 'List or search messages of a folder, newest first',
        description:
          'Envelope fields of up to `limit` messages, highest UID first. For the next page pass `nextCursor` as `cursor` ' +
          '(or `nextBeforeUid` as `beforeUid`, the older form); UIDs hold only while `uidValidity` stays the same, and a cursor ' +
          'from before a change is refused. Filters (`from`, `to`, `subject`, `text`, `since`, `before`, `seen`, `flagged`) ' +
          'are combined with AND into an IMAP UID SEARCH, answered in the same page shape. **Dates are days**: IMAP SEARCH ' +
          'compares the day the server received a message, without its time (`since` inclusive, `before` exclusive). ' +
          'Read-only: the folder is opened with EXAMINE.',
        params: IdParams, querystring: ListMessagesQuery,
        response: { 200: MessagePage, ...problemResponses(400, 401, 404, ...UPSTREAM) },
      },
    }, async (request) => reader.list(request.params.id, request.query));

    app.get('/mailboxes/:id/messages/:uid', {
      config: messageConfig,
      exposeHeadRoute: false,
      schema: {
        tags, security, summary: 'Get one message, parsed',
        description:
          'Headers, text, HTML and attachment metadata (no attachment bodies: each has an `id` for …/attachments/{id}). The HTML is as the sender wrote it: ' +
          '**sanitize it before rendering**. A message larger than MESSAGE_PARSE_MAX_BYTES answers 413 `message_too_large`. ' +
          'Reading does not mark the message as seen.',
        params: MessageParams, querystring: MessageQuery,
        response: { 200: MessageView, ...problemResponses(400, 401, 404, 413, ...UPSTREAM) },
      },
    }, async (request) => reader.get(request.params.id, request.params.uid, request.query.folder));

    app.get('/mailboxes/:id/messages/:uid/attachments/:attachmentId', {
      config: attachmentConfig,
      exposeHeadRoute: false,
      schema: {
        tags, security, summary: 'Download one attachment, decoded',
        description:
          'The part named by the attachment\'s `id` (its IMAP part number), fetched alone from IMAP and streamed with its ' +
          'transfer encoding (base64, quoted-printable) undone: the bytes the sender attached. `content-type` is the part\'s, ' +
          '`content-disposition` is `attachment` with the filename (RFC 6266: `filename*=UTF-8\'\'…` and an ASCII `filename`). ' +
          'An id the message does not have answers 404 `attachment_not_found`; a part larger than MESSAGE_RAW_MAX_BYTES 413 ' +
          '`message_too_large`. A failure after the first bytes aborts the response (no final chunk): treat a download that ' +
          'did not end cleanly as incomplete. Reading does not mark the message as seen.',
        params: AttachmentParams, querystring: MessageQuery,
        response: {
          200: { description: 'The decoded part.', content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } },
          ...problemResponses(400, 401, 404, 413, ...UPSTREAM),
        },
      },
    }, async (request, reply) => {
      const { id, uid, attachmentId } = request.params;
      const attachment = await reader.attachment(id, uid, attachmentId, request.query.folder);
      const fallback = `${uid}-${attachmentId}${attachment.contentType.startsWith('message/rfc822') ? '.eml' : ''}`;
      return reply
        .type(attachment.contentType)
        .header('content-disposition', attachmentDisposition(attachment.filename, fallback))
        .header('x-content-type-options', 'nosniff')
        // A part is the sender's content: never a page of this origin, even opened directly.
        .header('content-security-policy', "default-src 'none'; sandbox")
        .send(attachment.content as unknown as string);
    });

    app.get('/mailboxes/:id/messages/:uid/raw', {
      config: messageConfig,
      exposeHeadRoute: false,
      schema: {
        tags, security, summary: 'Download one message as stored (message/rfc822)',
        description:
          'The message source, streamed from IMAP as it is read, with CRLF line endings. A message larger than MESSAGE_RAW_MAX_BYTES ' +
          'answers 413 `message_too_large`. A failure after the first bytes aborts the response (no final chunk): treat a ' +
          'download that did not end cleanly as incomplete. Reading does not mark the message as seen.',
        params: MessageParams, querystring: MessageQuery,
        response: {
          200: { description: 'The message (RFC 5322).', content: { 'message/rfc822': { schema: Type.String({ format: 'binary' }) } } },
          ...problemResponses(400, 401, 404, 413, ...UPSTREAM),
        },
      },
    }, async (request, reply) => {
      const message = await reader.raw(request.params.id, request.params.uid, request.query.folder);
      return reply
        .type('message/rfc822')
        .header('content-disposition', `attachment; filename="${message.uid}.eml"`)
        .header('x-content-type-options', 'nosniff')
        // The stream is the body; the schema's binary string is what the OpenAPI document says of it.
        .send(message.content as unknown as string);
    });
  };
}
