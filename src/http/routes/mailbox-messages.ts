/** GET /v1/mailboxes/{id}/messages…: reading mail, thin handlers over the message reader. */
import { Type } from 'typebox';
import type { TypedApp } from '../typed-routes.js';
import type { MessageReader } from '../../domain/messages/reader.js';
import {
  ListMessagesQuery, MessagePage, MessageQuery, MessageView,
} from '../../domain/messages/schemas.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams, MessageParams } from '../schemas/id-params.js';

const listConfig = { scope: 'read', pathIds: { id: 'mbx' } } as const;
const messageConfig = { scope: 'read', pathIds: { id: 'mbx', uid: 'uid' } } as const;
const security = [{ apiKey: [] }];
const tags = ['mailboxes'];
/** Token and IMAP failures: 409 (never signed in), 422 (refused: the hint says what to fix), 502/503/504 (down, throttled, timed out). */
const UPSTREAM = [409, 422, 502, 503, 504] as const;

export function mailboxMessageRoutes(reader: Pick<MessageReader, 'list' | 'get' | 'raw'>) {
  return async (app: TypedApp): Promise<void> => {
    // No automatic HEAD routes: a HEAD of …/raw would download the whole message only to discard it.
    app.get('/mailboxes/:id/messages', {
      config: listConfig,
      exposeHeadRoute: false,
      schema: {
        tags, security, summary: 'List messages of a folder, newest first',
        description:
          'Envelope fields of up to `limit` messages, highest UID first. For the next page pass `nextBeforeUid` as `beforeUid`; ' +
          'UIDs hold only while `uidValidity` stays the same. Read-only: the folder is opened with EXAMINE.',
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
          'Headers, text, HTML and attachment metadata (no attachment bodies: use …/raw). The HTML is as the sender wrote it: ' +
          '**sanitize it before rendering**. A message larger than MESSAGE_PARSE_MAX_BYTES answers 413 `message_too_large`. ' +
          'Reading does not mark the message as seen.',
        params: MessageParams, querystring: MessageQuery,
        response: { 200: MessageView, ...problemResponses(400, 401, 404, 413, ...UPSTREAM) },
      },
    }, async (request) => reader.get(request.params.id, request.params.uid, request.query.folder));

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
