/** /v1/send: thin handlers over the send service. */
import type { TypedApp } from '../typed-routes.js';
import { SendAccepted, SendBody, SendHeaders, SendView } from '../schemas/sending.js';
import type { SendService } from '../../domain/sending/service.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams } from '../schemas/id-params.js';
import { installLiftedJson } from '../plugins/lifted-json-body.js';
import type { BodyBudget } from '../body-budget.js';
import type { JsonPath } from '../lifted-json.js';
import { MessageParts } from '../../domain/sending/parts.js';

const security = [{ apiKey: [] }];
const tags = ['sending'];

export interface SendRouteOptions {
  /** This route's body limit: the largest message in base64 plus the JSON around it (see sendBodyLimitBytes). */
  bodyLimitBytes: number;
  /** The bytes of request bodies this process holds at once (SEND_BODY_BUDGET_BYTES). */
  budget: BodyBudget;
}

/** Base64 strings at least this long are decoded as the body streams in (shorter ones cost nothing to keep as text). */
const LIFT_MIN_CHARS = 64 * 1024;
/** How long a client refused for lack of body budget is asked to wait: a large body is stored within about a second. */
const BUSY_RETRY_AFTER_SECONDS = 2;

/** Where a message carries base64 that is wanted as bytes: each attachment's content, and raw. */
const isBase64Field = (path: JsonPath): boolean =>
  (path.length === 1 && path[0] === 'raw') || (path.length === 3 && path[0] === 'attachments' && typeof path[1] === 'number' && path[2] === 'content');

export function sendRoutes(service: SendService, options: SendRouteOptions) {
  return async (app: TypedApp): Promise<void> => {
    installLiftedJson(app, {
      bodyLimitBytes: options.bodyLimitBytes, budget: options.budget, minLength: LIFT_MIN_CHARS, keep: isBase64Field, retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
    });
    app.post('/send', {
      config: { scope: 'send' },
      bodyLimit: options.bodyLimitBytes,
      schema: {
        tags, security, summary: 'Queue a message for sending from a mailbox (SMTP AUTH XOAUTH2)',
        description:
          'Answers 202 once the message is stored (encrypted) and queued, or `scheduled` when sendAt is in the future; GET /v1/send/{id} follows it. ' +
          'Messages over the mailbox\'s rate limits (30 a minute, 10,000 recipients a day) wait in the queue. ' +
          'With an Idempotency-Key, a retry with the same body answers the first response again for 24 h; another body is a 422. ' +
          '`reply` and `forward` read their original from the mailbox at acceptance: its token and IMAP failures answer 409, 422 or 502/503/504. ' +
          'The size limit (SEND_MAX_MESSAGE_BYTES, 413 past it) counts the message as sent, MIME-encoded (attachments in base64), as Exchange does. ' +
          'Long base64 fields are decoded as the body arrives and stored once, encrypted; an API process holds at most SEND_BODY_BUDGET_BYTES of bodies at once, ' +
          'and answers 503 `server_busy` with Retry-After past it.',
        headers: SendHeaders,
        body: SendBody,
        response: { 202: SendAccepted, ...problemResponses(400, 401, 409, 413, 415, 422, 502, 503, 504) },
      },
    }, async (request, reply) => {
      const parts = new MessageParts(request.liftedParts);
      return reply.code(202).send(await service.accept(request.body, request.headers['idempotency-key'], parts));
    });

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
