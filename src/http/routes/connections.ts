/** /v1/connections: thin handlers over the connection service. */
import { Type } from 'typebox';
import { NO_CONTENT, type TypedApp } from '../typed-routes.js';
import {
  ConnectionView,
  CreateConnectionBody,
  UpdateConnectionBody,
} from '../schemas/connections.js';
import type { ConnectionService } from '../../domain/connections/service.js';
import { PageOf, PageQuery } from '../schemas/paging.js';
import { VerifyResult } from '../schemas/doctor.js';
import type { VerifyResultT } from '../../domain/doctor/verify-connection.js';
import { refuseBody } from '../schemas/no-body.js';
import { problemResponses } from '../schemas/problem.js';
import { IdParams } from '../schemas/id-params.js';

/** Every route below with an id in its path names a connection. */
const config = { pathIds: { id: 'con' } } as const;
const security = [{ apiKey: [] }];
const tags = ['connections'];

/** `?tenant=`: the customer tenant a multi-tenant app_only connection is checked against. */
const VerifyQuery = Type.Object(
  {
    tenant: Type.Optional(Type.String({
      minLength: 1, maxLength: 256,
      description: "A tenant id or verified domain to acquire the token in: required for a multi-tenant app_only connection (a customer's tenant); on a single-tenant connection only its own tenant.",
    })),
  },
  { additionalProperties: false },
);

export function connectionRoutes(service: ConnectionService, verify: (connectionId: string, tenant: string | undefined) => Promise<VerifyResultT>) {
  return async (app: TypedApp): Promise<void> => {
    app.post('/connections', {
      schema: {
        tags, security, summary: 'Register an Entra app registration',
        body: CreateConnectionBody,
        response: { 201: ConnectionView, ...problemResponses(400, 401, 413, 415) },
      },
    }, async (request, reply) => reply.code(201).send(await service.create(request.body)));

    app.get('/connections', {
      schema: {
        tags, security, summary: 'List connections, a page at a time',
        description: 'In creation order. Pass nextCursor as cursor for the next page.',
        querystring: PageQuery,
        response: { 200: PageOf(ConnectionView), ...problemResponses(400, 401) },
      },
    }, async (request) => service.list(request.query));

    app.get('/connections/:id', {
      config,
      schema: { tags, security, summary: 'Get a connection', params: IdParams, response: { 200: ConnectionView, ...problemResponses(401, 404) } },
    }, async (request) => service.get(request.params.id));

    app.patch('/connections/:id', {
      config,
      schema: {
        tags, security, summary: 'Rename, rotate the credential, or set the sign-in allow-list',
        description: 'Rotating the credential (a new `clientSecret`, `certificate` or `federated`, of the same kind or another) keeps cached tokens: they stay valid until they expire. `loginReturnTo: null` returns the connection to LOGIN_RETURN_TO_ALLOWLIST.',
        params: IdParams, body: UpdateConnectionBody,
        response: { 200: ConnectionView, ...problemResponses(400, 401, 404) },
      },
    }, async (request) => service.update(request.params.id, request.body));

    app.post('/connections/:id/verify', {
      config,
      preValidation: refuseBody,
      schema: {
        tags, security, summary: 'Acquire a token now and report what it grants and what is missing',
        description: 'Takes no body. App-only: a fresh client-credentials token, its roles, and a problem per missing role or refused setup step (with the AADSTS code and the hint); ' +
          'a multi-tenant app_only connection is checked in the customer tenant named by `?tenant=` (AADSTS7000229: no service principal there, the admin has not consented). Delegated: checks the authority answers.',
        params: IdParams, querystring: VerifyQuery, response: { 200: VerifyResult, ...problemResponses(400, 401, 404) },
      },
    }, async (request) => verify(request.params.id, request.query.tenant));

    app.delete('/connections/:id', {
      config,
      schema: {
        tags, security, summary: 'Delete a connection (409 while mailboxes use it)',
        params: IdParams, response: { 204: Type.Null(), ...problemResponses(401, 404, 409) },
      },
    }, async (request, reply) => {
      await service.delete(request.params.id);
      return reply.code(204).send(NO_CONTENT);
    });
  };
}
