/** GET and POST /v1/mailboxes/{id}/folders: a mailbox's folders, thin handlers over the folder service. */
import type { TypedApp } from '../typed-routes.js';
import type { MailFolders } from '../../domain/messages/mail-folders.js';
import { CreateFolderBody, FolderList, FolderListQuery, FolderView } from '../schemas/mail-actions.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams } from '../schemas/id-params.js';

const security = [{ apiKey: [] }];
const tags = ['mailboxes'];
/** Token and IMAP failures: 409 (never signed in), 422 (refused: the hint says what to fix), 429 (too many at once), 502/503/504. */
const UPSTREAM = [409, 422, 429, 502, 503, 504] as const;

export function mailboxFolderRoutes(folders: Pick<MailFolders, 'list' | 'create'>) {
  return async (app: TypedApp): Promise<void> => {
    app.get('/mailboxes/:id/folders', {
      config: { scope: 'read', pathIds: { id: 'mbx' } },
      schema: {
        tags, security, summary: 'List the mailbox\'s folders',
        description:
          'Every folder (IMAP LIST) with its special use (`\\Trash` is Exchange\'s "Deleted Items", `\\Sent` "Sent Items", `\\Junk` "Junk Email") ' +
          'and whether the mailbox polls it. `?counts=true` adds `messages` and `unseen` (one STATUS per folder).',
        params: IdParams, querystring: FolderListQuery,
        response: { 200: FolderList, ...problemResponses(400, 401, 404, ...UPSTREAM) },
      },
    }, async (request) => folders.list(request.params.id, { counts: request.query.counts }));

    app.post('/mailboxes/:id/folders', {
      config: { scope: 'modify', pathIds: { id: 'mbx' } },
      schema: {
        tags, security, summary: 'Create a folder',
        description:
          'Creates (and subscribes) the folder; levels separated by /, names in UTF-8. A folder of that name already there ' +
          '(case-insensitively, as on Exchange) answers 409 `folder_exists`.',
        params: IdParams, body: CreateFolderBody,
        response: { 201: FolderView, ...problemResponses(400, 401, 404, ...UPSTREAM) },
      },
    }, async (request, reply) => reply.code(201).send(await folders.create(request.params.id, request.body.path)));
  };
}
