/** Webhook schemas: the API contract (api.md, Webhooks), checked against the domain's types (domain/webhooks/model.ts). */
import { Type, type Static, type TSchema } from 'typebox';
import { EVENT_TYPES } from '../../domain/events/events.js';
import { CONTENT_PARTS } from '../../domain/events/message-content.js';
import { idPattern } from '../../domain/ids.js';
import { MAX_URL_LENGTH } from '../../domain/webhooks/url-policy.js';
import type {
  CreateWebhookInput, DeliveryErrorT, DeliveryListQueryT, DeliveryListT, DeliveryStatusT, DeliveryViewT,
  RotatedSecretViewT, WebhookCreatedViewT, WebhookHealthT, WebhookViewT,
} from '../../domain/webhooks/model.js';
import type { Check, Same } from './same.js';

const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const EventTypeSchema = Type.Enum(EVENT_TYPES, { description: 'A domain event type.' });

export const ContentPartSchema = Type.Enum(CONTENT_PARTS, { description: 'A part of a received message a `message.received` delivery carries.' });

const INCLUDE_DESCRIPTION = 'What `message.received` deliveries carry besides the envelope: `text` and `html` '
  + '(each cut at 256 KiB of UTF-8, with `textTruncated`/`htmlTruncated`), `headers` (`{ name, value }` in order, '
  + 'with `headersTruncated`) and `attachments` (metadata, with `attachmentsTruncated`). A message whose content '
  + 'cannot be given is still delivered, with `contentOmitted` (`too_large`, `unparseable`, `unavailable`, `expired`). '
  + 'Empty or absent: the envelope only.';

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: MAX_URL_LENGTH,
      description: 'Where deliveries are POSTed: http or https, no credentials, no fragment; public addresses only unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true.',
      examples: ['https://example.com/hooks/mailsync'],
    }),
    events: Type.Array(EventTypeSchema, { minItems: 1, maxItems: EVENT_TYPES.length, uniqueItems: true }),
    mailboxIds: Type.Optional(Type.Array(Type.String({ pattern: idPattern('mbx') }), {
      maxItems: 100,
      uniqueItems: true,
      description: 'Only events of these mailboxes; empty or absent: every mailbox. The connection events (connection.credential_expiring, connection.consented) concern no mailbox and go only to subscriptions without mailboxIds.',
    })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    include: Type.Optional(Type.Array(ContentPartSchema, { maxItems: CONTENT_PARTS.length, uniqueItems: true, description: INCLUDE_DESCRIPTION })),
  },
  { additionalProperties: false },
);

export const WebhookHealth = Type.Object(
  {
    status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')], {
      description: '`unhealthy` after several consecutive failed attempts: deliveries are then paced (one at a time) until the endpoint answers 2xx again.',
    }),
    consecutiveFailures: Type.Integer({ minimum: 0 }),
    failingSince: Nullable(Timestamp),
    lastSuccessAt: Nullable(Timestamp),
    lastFailureAt: Nullable(Timestamp),
  },
  { additionalProperties: false },
);

const viewProperties = {
  id: Type.String(),
  url: Type.String(),
  description: Nullable(Type.String()),
  events: Type.Array(EventTypeSchema),
  mailboxIds: Type.Array(Type.String(), { description: 'Empty: every mailbox.' }),
  include: Type.Array(ContentPartSchema, { description: INCLUDE_DESCRIPTION }),
  health: WebhookHealth,
  secretRotatedAt: Nullable(Timestamp),
  previousSecretExpiresAt: Nullable(Type.String({
    format: 'date-time',
    description: 'Until then deliveries are signed with the previous secret too.',
  })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

export const WebhookView = Type.Object(viewProperties, { additionalProperties: false });

const Secret = Type.String({ description: 'The signing secret (`whsec_` + base64). Shown only in this response: store it now.' });

export const WebhookCreatedView = Type.Object({ ...viewProperties, secret: Secret }, { additionalProperties: false });

export const RotatedSecretView = Type.Object(
  { id: Type.String(), secret: Secret, previousSecretExpiresAt: Nullable(Timestamp) },
  { additionalProperties: false },
);

export const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]);

export const DeliveryError = Type.Object(
  {
    code: Type.String({ description: '`http_status`, `redirect`, `timeout`, `network`, `target_forbidden`, `signing_failed`.' }),
    detail: Type.String(),
  },
  { additionalProperties: false },
);

export const DeliveryView = Type.Object(
  {
    deliveryId: Type.String(),
    eventId: Type.String({ description: 'The `webhook-id` header: the same on every attempt.' }),
    eventType: EventTypeSchema,
    status: DeliveryStatus,
    attempts: Type.Integer({ minimum: 0 }),
    lastResponseCode: Nullable(Type.Integer()),
    lastError: Nullable(DeliveryError),
    lastResponseBody: Nullable(Type.String({ description: 'The start of the last response body (at most 1 KiB).' })),
    lastAttemptAt: Nullable(Timestamp),
    nextAttemptAt: Nullable(Type.String({ format: 'date-time', description: 'When a pending delivery is tried next, at the earliest.' })),
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);

export const DeliveryListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Page size (default 50).' })),
    cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: '`nextCursor` of the previous page.' })),
  },
  { additionalProperties: false },
);

export const DeliveryList = Type.Object(
  { items: Type.Array(DeliveryView), nextCursor: Nullable(Type.String()) },
  { additionalProperties: false },
);

export type WebhookSchemasAgree = [
  Check<Same<Static<typeof CreateWebhookBody>, CreateWebhookInput>>,
  Check<Same<Static<typeof WebhookHealth>, WebhookHealthT>>,
  Check<Same<Static<typeof WebhookView>, WebhookViewT>>,
  Check<Same<Static<typeof WebhookCreatedView>, WebhookCreatedViewT>>,
  Check<Same<Static<typeof RotatedSecretView>, RotatedSecretViewT>>,
  Check<Same<Static<typeof DeliveryStatus>, DeliveryStatusT>>,
  Check<Same<Static<typeof DeliveryError>, DeliveryErrorT>>,
  Check<Same<Static<typeof DeliveryView>, DeliveryViewT>>,
  Check<Same<Static<typeof DeliveryListQuery>, DeliveryListQueryT>>,
  Check<Same<Static<typeof DeliveryList>, DeliveryListT>>,
];
