/** /v1/mailboxes/{id}/pause, /resume and /poll: control of a mailbox's polling. */
import { Type } from 'typebox';
import type { TypedApp } from '../typed-routes.js';
import { MailboxView } from '../schemas/mailboxes.js';
import { toMailboxView, type MailboxService } from '../../domain/mailboxes/service.js';
import { AppError } from '../../errors/errors.js';
import type { PollScheduler } from '../../jobs/polling/scheduler.js';
import { refuseBody } from '../schemas/no-body.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams } from '../schemas/id-params.js';

const config = { pathIds: { id: 'mbx' } } as const;
const security = [{ apiKey: [] }];
const tags = ['mailboxes'];

export function mailboxPollingRoutes(mailboxes: MailboxService, scheduler: PollScheduler) {
  return async (app: TypedApp): Promise<void> => {
    app.post('/mailboxes/:id/pause', {
      config,
      preValidation: refuseBody,
      schema: { tags, security, summary: 'Stop polling the mailbox', description: 'Takes no body.', params: IdParams, response: { 200: MailboxView, ...problemResponses(400, 401, 404) } },
    }, async (request) => toMailboxView(await mailboxes.pause(request.params.id)));

    app.post('/mailboxes/:id/resume', {
      config,
      preValidation: refuseBody,
      schema: { tags, security, summary: 'Poll the mailbox again (at once)', description: 'Takes no body.', params: IdParams, response: { 200: MailboxView, ...problemResponses(400, 401, 404) } },
    }, async (request) => toMailboxView(await mailboxes.resume(request.params.id)));

    app.post('/mailboxes/:id/poll', {
      config,
      preValidation: refuseBody,
      schema: {
        tags, security, summary: 'Poll the mailbox now',
        description: 'Takes no body. 202: the poll is queued; the mailbox view shows its result (lastPollAt, state, lastError).',
        params: IdParams,
        response: { 202: Type.Object({ queued: Type.Boolean() }, { additionalProperties: false }), ...problemResponses(400, 401, 404, 409) },
      },
    }, async (request, reply) => {
      const mailbox = await mailboxes.get(request.params.id);
      if (mailbox.state === 'paused' || mailbox.state === 'pending_authorization') {
        throw new AppError('conflict', `Mailbox ${mailbox.id} is ${mailbox.state}: it is not polled.`, {
          hint: mailbox.state === 'paused' ? 'Resume it first: POST /v1/mailboxes/{id}/resume.' : 'Sign in as the mailbox user first: POST /v1/mailboxes/{id}/authorize.',
        });
      }
      await scheduler.pollNow(mailbox.id);
      return reply.code(202).send({ queued: true });
    });
  };
}
