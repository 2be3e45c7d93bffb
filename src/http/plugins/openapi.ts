/**
 * The OpenAPI document, generated from the route schemas: served at
 * /openapi.json, browsable at /docs, and written to openapi/openapi.json by
 * `npm run openapi` (a test fails when the committed copy is stale).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export const API_VERSION = '0.1.0';

export async function installOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'mailsync',
        version: API_VERSION,
        description:
          'Microsoft 365 mail integration: OAuth connections, mailbox polling with webhooks, and sending over SMTP AUTH XOAUTH2. ' +
          'Errors are RFC 9457 problem details with a stable `code`.',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http', scheme: 'bearer',
            description: 'One of the keys in API_KEYS. A key limited to scopes (send+read:<key>) gets 403 forbidden outside them: /v1/send needs send, …/messages read, /v1/login/exchange login, the rest admin.',
          },
        },
      },
      tags: [
        { name: 'connections', description: 'Entra app registrations' },
        { name: 'mailboxes', description: 'Mailboxes watched and sent from through a connection' },
        { name: 'sending', description: 'Messages sent from a mailbox over SMTP AUTH XOAUTH2, queued, rate limited and retried' },
        { name: 'webhooks', description: 'Signed, retried event deliveries to your endpoints (Standard Webhooks)' },
        { name: 'sign-in', description: 'Microsoft sign-in provider: browsers start at /v1/connections/{id}/login (no API key); applications exchange the login code' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
