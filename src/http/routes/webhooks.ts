/** /v1/webhooks: thin handlers over the subscriptions and the delivery log. */
import { Type } from 'typebox';
import { NO_CONTENT, type TypedApp } from '../typed-routes.js';
import type { DeliveryLog } from '../../domain/webhooks/deliveries.js';
import {
  CreateWebhookBody,
  DeliveryList,
  DeliveryListQuery,
  DeliveryView,
  RotatedSecretView,
  WebhookCreatedView,
  WebhookView,
} from '../schemas/webhooks.js';
import type { WebhookSubscriptions } from '../../domain/webhooks/subscriptions.js';
import { PageOf, PageQuery } from '../schemas/paging.js';
import { refuseBody } from '../schemas/no-body.js';
import { problemResponses } from '../schemas/problem.js';
import { DeliveryParams, IdParams } from '../schemas/id-params.js';

const config = { pathIds: { id: 'whk' } } as const;
const deliveryConfig = { pathIds: { id: 'whk', deliveryId: 'dlv' } } as const;
const security = [{ apiKey: [] }];
const tags = ['webhooks'];

export interface WebhookRouteServices {
  subscriptions: WebhookSubscriptions;
  deliveries: DeliveryLog;
}

export function webhookRoutes({ subscriptions, deliveries }: WebhookRouteServices) {
  return async (app: TypedApp): Promise<void> => {
    app.post('/webhooks', {
      schema: {
        tags, security, summary: 'Subscribe a URL to events',
        description: 'The answer carries the signing secret; it is never shown again. The URL must be public unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true.',
        body: CreateWebhookBody,
        response: { 201: WebhookCreatedView, ...problemResponses(400, 401, 409, 413, 415) },
      },
    }, async (request, reply) => reply.code(201).send(await subscriptions.create(request.body)));

    app.get('/webhooks', {
      schema: {
        tags, security, summary: 'List webhook subscriptions, a page at a time',
        description: 'In creation order. Pass nextCursor as cursor for the next page.',
        querystring: PageQuery,
        response: { 200: PageOf(WebhookView), ...problemResponses(400, 401) },
      },
    }, async (request) => subscriptions.list(request.query));

    app.get('/webhooks/:id', {
      config,
      schema: {
        tags, security, summary: 'Get a webhook subscription and its endpoint health',
        params: IdParams, response: { 200: WebhookView, ...problemResponses(401, 404) },
      },
    }, async (request) => subscriptions.get(request.params.id));

    app.delete('/webhooks/:id', {
      config,
      schema: {
        tags, security, summary: 'Delete a webhook subscription and its delivery log',
        params: IdParams, response: { 204: Type.Null(), ...problemResponses(401, 404) },
      },
    }, async (request, reply) => {
      await subscriptions.delete(request.params.id);
      return reply.code(204).send(NO_CONTENT);
    });

    app.post('/webhooks/:id/rotate-secret', {
      config,
      schema: {
        tags, security, summary: 'Replace the signing secret',
        description: 'Takes no body. Answers the new secret once. During the grace period (WEBHOOK_SECRET_GRACE_SECONDS, default 24 h) deliveries carry a signature for the new and for the previous secret.',
        params: IdParams,
        response: { 200: RotatedSecretView, ...problemResponses(400, 401, 404) },
      },
      preValidation: refuseBody,
    }, async (request) => subscriptions.rotateSecret(request.params.id));

    app.get('/webhooks/:id/deliveries', {
      config,
      schema: {
        tags, security, summary: "A subscription's deliveries, newest first",
        params: IdParams, querystring: DeliveryListQuery,
        response: { 200: DeliveryList, ...problemResponses(400, 401, 404) },
      },
    }, async (request) => deliveries.list(request.params.id, request.query));

    app.get('/webhooks/:id/deliveries/:deliveryId', {
      config: deliveryConfig,
      schema: {
        tags, security, summary: 'One delivery',
        params: DeliveryParams, response: { 200: DeliveryView, ...problemResponses(401, 404) },
      },
    }, async (request) => deliveries.get(request.params.id, request.params.deliveryId));

    app.post('/webhooks/:id/deliveries/:deliveryId/retry', {
      config: deliveryConfig,
      schema: {
        tags, security, summary: 'Send a delivered or failed delivery again',
        description: 'Takes no body. Queues it now with a fresh retry budget. A pending delivery is a 409: it is retried automatically.',
        params: DeliveryParams,
        response: { 202: DeliveryView, ...problemResponses(400, 401, 404, 409) },
      },
      preValidation: refuseBody,
    }, async (request, reply) => reply.code(202).send(await deliveries.retry(request.params.id, request.params.deliveryId)));
  };
}
