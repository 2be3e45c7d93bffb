/** /v1/send: thin handlers over the send service. */
import type { TypedApp } from '../typed-routes.js';
import { SendAccepted, SendBody, SendHeaders, SendView } from '../schemas/sending.js';
import type { SendService } from '../../domain/sending/service.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams } from '../schemas/id-params.js';

const security = [{ apiKey: [] }];
const tags = ['sending'];

export interface SendRouteOptions {
  /** This route's body limit: the largest message in base64 plus the JSON around it (see sendBodyLimitBytes). */
  bodyLimitBytes: number;
}

export function sendRoutes(service: SendService, options: SendRouteOptions) {
  return async (app: TypedApp): Promise<void> => {
    app.post('/send', {
      config: { scope: 'send' },
      bodyLimit: options.bodyLimitBytes,
      schema: {
        tags, security, summary: 'Queue a message for sending from a mailbox (SMTP AUTH XOAUTH2)',
        description:
          'Answers 202 once the message is stored (encrypted) and queued, or `scheduled` when sendAt is in the future; GET /v1/send/{id} follows it. ' +
          'Messages over the mailbox\'s rate limits (30 a minute, 10,000 recipients a day) wait in the queue. ' +
          'With an Idempotency-Key, a retry with the same body answers the first response again for 24 h; another body is a 422. ' +
          '`reply` and `forward` read their original from the mailbox at acceptance: its token and IMAP failures answer 409, 422 or 502/503/504.',
        headers: SendHeaders,
        body: SendBody,
        response: { 202: SendAccepted, ...problemResponses(400, 401, 409, 413, 415, 422, 502, 503, 504) },
      },
    }, async (request, reply) => reply.code(202).send(await service.accept(request.body, request.headers['idempotency-key'])));

    app.get('/send/:id', {
      config: { scope: 'send', pathIds: { id: 'snd' } },
      schema: {
        tags, security, summary: 'A message\'s status: scheduled, queued, sending, sent, failed or canceled',
        params: IdParams,
        response: { 200: SendView, ...problemResponses(401, 404) },
      },
    }, async (request) => service.view(request.params.id));

    app.delete('/send/:id', {
      config: { scope: 'send', pathIds: { id: 'snd' } },
      schema: {
        tags, security, summary: 'Cancel a scheduled or queued message (409 once it is sending, sent or failed)',
        description:
          'A `scheduled` or `queued` message becomes `canceled` and is never sent; its content is deleted, its status kept. ' +
          'Answers the message (also when it was already canceled). Once a worker has taken it (`sending`) or it is finished, ' +
          'it is a 409 `send_not_cancelable`: a message being handed to the mail server may already be delivered.',
        params: IdParams,
        response: { 200: SendView, ...problemResponses(401, 404, 409) },
      },
    }, async (request) => service.cancel(request.params.id));
  };
}
