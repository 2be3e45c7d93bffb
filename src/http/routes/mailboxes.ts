/** /v1/mailboxes: thin handlers over the mailbox service. */
import { Type } from 'typebox';
import { NO_CONTENT, type TypedApp } from '../typed-routes.js';
import { CreateMailboxBody, MailboxView, UpdateMailboxBody } from '../schemas/mailboxes.js';
import type { MailboxViewT } from '../../domain/mailboxes/model.js';
import { MailboxListQuery } from '../schemas/paging.js';
import { toMailboxView, type MailboxRecord, type MailboxService } from '../../domain/mailboxes/service.js';
import { PageOf } from '../schemas/paging.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams } from '../schemas/id-params.js';

/** Every route below with an id in its path names a mailbox. */
const config = { pathIds: { id: 'mbx' } } as const;
const security = [{ apiKey: [] }];
const tags = ['mailboxes'];

export interface MailboxRouteDeps {
  mailboxes: MailboxService;
  /** The sign-in URL for a delegated mailbox (the OAuth module provides it). */
  authorizeUrl?: (mailbox: MailboxRecord) => Promise<string>;
}

export function mailboxRoutes(deps: MailboxRouteDeps) {
  return async (app: TypedApp): Promise<void> => {
    app.post('/mailboxes', {
      schema: {
        tags, security, summary: 'Add a mailbox',
        description: 'App-only mailboxes are active at once. Delegated ones answer pending_authorization with an authorizeUrl for the mailbox user (absent when the identity platform cannot be reached now: POST …/authorize gives it later). Mail already in the folders is not announced; mail received from now on is, even before the first poll.',
        body: CreateMailboxBody,
        response: { 201: MailboxView, ...problemResponses(400, 401, 409, 413, 415) },
      },
    }, async (request, reply) => {
      const mailbox = await deps.mailboxes.create(request.body);
      const view: MailboxViewT = toMailboxView(mailbox);
      if (mailbox.state === 'pending_authorization' && deps.authorizeUrl) {
        // The mailbox exists either way: when Microsoft cannot be asked now, POST /v1/mailboxes/{id}/authorize gives the URL later.
        view.authorizeUrl = await deps.authorizeUrl(mailbox).catch((err: unknown) => {
          request.log.warn({ err, mailboxId: mailbox.id }, 'authorize URL not available yet');
          return undefined;
        });
      }
      return reply.code(201).send(view);
    });

    app.get('/mailboxes', {
      schema: {
        tags, security, summary: 'List mailboxes, a page at a time',
        description: 'In creation order. Filters combine (connectionId, state, email); each is served from an index. '
          + 'Pass nextCursor as cursor for the next page: a walk sees each mailbox that exists throughout it once, even while others are added or removed.',
        querystring: MailboxListQuery,
        response: { 200: PageOf(MailboxView), ...problemResponses(400, 401) },
      },
    }, async (request) => {
      const page = await deps.mailboxes.page(request.query);
      return { items: page.items.map(toMailboxView), nextCursor: page.nextCursor };
    });

    app.get('/mailboxes/:id', {
      config,
      schema: { tags, security, summary: 'Get a mailbox and its state', params: IdParams, response: { 200: MailboxView, ...problemResponses(401, 404) } },
    }, async (request) => toMailboxView(await deps.mailboxes.get(request.params.id)));

    app.patch('/mailboxes/:id', {
      config,
      schema: {
        tags, security, summary: 'Change folders, interval or server overrides',
        params: IdParams, body: UpdateMailboxBody, response: { 200: MailboxView, ...problemResponses(400, 401, 404) },
      },
    }, async (request) => toMailboxView(await deps.mailboxes.update(request.params.id, request.body)));

    app.delete('/mailboxes/:id', {
      config,
      schema: {
        tags, security, summary: 'Delete a mailbox and every trace of it',
        params: IdParams, response: { 204: Type.Null(), ...problemResponses(401, 404) },
      },
    }, async (request, reply) => {
      await deps.mailboxes.delete(request.params.id);
      return reply.code(204).send(NO_CONTENT);
    });
  };
}
