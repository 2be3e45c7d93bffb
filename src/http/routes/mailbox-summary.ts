/** GET /v1/mailboxes/summary: the mailboxes counted, without listing them (domain/mailboxes/summary.ts). */
import type { FastifyInstance } from 'fastify';
import type { MailboxSummaryT } from '../../domain/mailboxes/summary.js';
import { MailboxSummary } from '../schemas/mailboxes.js';
import { problemResponses } from '../schemas/problem.js';

export function mailboxSummaryRoute(summary: () => Promise<MailboxSummaryT>) {
  return async (app: FastifyInstance): Promise<void> => {
    // A static path: Fastify's router prefers it to /mailboxes/:id whatever the order of registration.
    app.get('/mailboxes/summary', {
      schema: {
        tags: ['mailboxes'],
        security: [{ apiKey: [] }],
        summary: 'Count mailboxes by state, mailboxes overdue for a poll, and live workers',
        description: 'overdue: mailboxes whose poll is due more than one poll interval ago; workers: worker processes whose heartbeat is under 15 s old. '
          + 'workers 0 with overdue growing: nothing polls (no ROLE=worker or ROLE=all process runs).',
        response: { 200: MailboxSummary, ...problemResponses(401) },
      },
    }, () => summary());
  };
}
