/**
 * Acting on messages: PATCH …/messages/{uid} (flags), POST …/{uid}/move,
 * DELETE …/{uid}, POST …/messages/actions (bulk). Thin handlers over the
 * message actions; every route needs the `modify` scope.
 */
import { Type } from 'typebox';
import { NO_CONTENT, type TypedApp } from '../typed-routes.js';
import type { MessageActions } from '../../domain/messages/actions.js';
import { ActionQuery, BulkBody, BulkResult, DeleteQuery, FlagsBody, FlagsResult, MoveBody, MoveResult } from '../schemas/mail-actions.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams, MessageParams } from '../schemas/id-params.js';

const listConfig = { scope: 'modify', pathIds: { id: 'mbx' } } as const;
const messageConfig = { scope: 'modify', pathIds: { id: 'mbx', uid: 'uid' } } as const;
const security = [{ apiKey: [] }];
const tags = ['mailboxes'];
/** Token and IMAP failures: 409 (never signed in, or already in \Trash), 422 (refused: the hint says what to fix), 429 (too many at once), 502/503/504. */
const UPSTREAM = [409, 422, 429, 502, 503, 504] as const;
const FOLDER = 'INBOX';

export function mailboxActionRoutes(actions: Pick<MessageActions, 'setFlags' | 'move' | 'delete' | 'bulk'>) {
  return async (app: TypedApp): Promise<void> => {
    app.patch('/mailboxes/:id/messages/:uid', {
      config: messageConfig,
      schema: {
        tags, security, summary: 'Change a message\'s flags',
        description: 'Sets or clears \\Seen, \\Flagged, \\Answered (the others stay) and answers the flags as the server has them afterwards.',
        params: MessageParams, querystring: ActionQuery, body: FlagsBody,
        response: { 200: FlagsResult, ...problemResponses(400, 401, 404, ...UPSTREAM) },
      },
    }, async (request) => actions.setFlags(request.params.id, request.params.uid, request.query.folder ?? FOLDER, request.body));

    app.post('/mailboxes/:id/messages/:uid/move', {
      config: messageConfig,
      schema: {
        tags, security, summary: 'Move a message to another folder',
        description: 'UID MOVE (or UID COPY, then removing exactly this UID, on a server without MOVE). Answers its UID in the target when the server says it (COPYUID).',
        params: MessageParams, querystring: ActionQuery, body: MoveBody,
        response: { 200: MoveResult, ...problemResponses(400, 401, 404, ...UPSTREAM) },
      },
    }, async (request) => actions.move(request.params.id, request.params.uid, request.query.folder ?? FOLDER, request.body.to));

    app.delete('/mailboxes/:id/messages/:uid', {
      config: messageConfig,
      schema: {
        tags, security, summary: 'Delete a message',
        description:
          'Moves it to the folder whose special use is \\Trash (Exchange\'s "Deleted Items"), as Outlook does, and answers where it went. ' +
          '`?permanent=true` removes it for good (\\Deleted, then UID EXPUNGE of this UID only: messages another client marked \\Deleted stay) and answers 204; ' +
          'a server without UIDPLUS is refused that (422 `imap_unsupported`).',
        params: MessageParams, querystring: DeleteQuery,
        response: { 200: MoveResult, 204: Type.Null({ description: 'Removed for good.' }), ...problemResponses(400, 401, 404, ...UPSTREAM) },
      },
    }, async (request, reply) => {
      const moved = await actions.delete(request.params.id, request.params.uid, request.query.folder ?? FOLDER, request.query.permanent === true);
      return moved ? reply.send(moved) : reply.code(204).send(NO_CONTENT);
    });

    app.post('/mailboxes/:id/messages/actions', {
      config: listConfig,
      schema: {
        tags, security, summary: 'Act on many messages at once',
        description:
          'Up to 1,000 UIDs of one folder and one of each action: `seen`, `flagged`, then `moveTo` or `delete`. One IMAP command per action over the UIDs ' +
          'that exist (found with one UID SEARCH), never one per message. `missing` lists the UIDs the folder does not hold. ' +
          'When an action fails after an earlier one succeeded, the error says so: `completedActions`, `failedAction`, `done`.',
        params: IdParams, body: BulkBody,
        response: { 200: BulkResult, ...problemResponses(400, 401, 404, ...UPSTREAM) },
      },
    }, async (request) => actions.bulk(request.params.id, { ...request.body, folder: request.body.folder ?? FOLDER }));
  };
}
