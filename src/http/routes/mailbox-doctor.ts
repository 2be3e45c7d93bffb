/** POST /v1/mailboxes/{id}/diagnose: a thin handler over the mailbox doctor. */
import type { TypedApp } from '../typed-routes.js';
import type { DiagnoseResultT } from '../../domain/doctor/diagnose-mailbox.js';
import { DiagnoseResult } from '../schemas/doctor.js';
import { refuseBody } from '../schemas/no-body.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams } from '../schemas/id-params.js';


export function mailboxDoctorRoutes(diagnose: (mailboxId: string) => Promise<DiagnoseResultT>) {
  return async (app: TypedApp): Promise<void> => {
    app.post('/mailboxes/:id/diagnose', {
      config: { pathIds: { id: 'mbx' } },
      preValidation: refuseBody,
      schema: {
        tags: ['mailboxes'],
        security: [{ apiKey: [] }],
        summary: 'Check the token, its permissions, IMAP login and folders, and SMTP AUTH now',
        description:
          'Takes no body. Runs each step against Microsoft (or the configured servers) and answers 200 whatever they find: `ok` per step, ' +
          'with `detail`, and on failure the stable `code`, a `hint` and the `setupStep` of the setup guide that fixes it. ' +
          'Steps that cannot run without an earlier one say `skipped: …`. Never returns a token.',
        params: IdParams,
        response: { 200: DiagnoseResult, ...problemResponses(400, 401, 404) },
      },
    }, async (request) => diagnose(request.params.id));
  };
}
