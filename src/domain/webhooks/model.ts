/**
 * A webhook subscription and its delivery log as the domain takes and shows
 * them. The wire schemas (http/schemas/webhooks.ts) describe the same shapes
 * to clients and are checked against these types when the project compiles.
 */
import type { EventType } from '../events/events.js';
import type { ContentPart } from '../events/message-content.js';

export interface CreateWebhookInput {
  url: string;
  events: EventType[];
  /** Only events of these mailboxes; empty or absent: every mailbox. */
  mailboxIds?: string[];
  description?: string;
  /** What message.received deliveries carry besides the envelope. */
  include?: ContentPart[];
}

export interface WebhookHealthT {
  /** `unhealthy` after several consecutive failed attempts: deliveries are then paced. */
  status: 'healthy' | 'unhealthy';
  consecutiveFailures: number;
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
}

export interface WebhookViewT {
  id: string;
  url: string;
  description: string | null;
  events: EventType[];
  /** Empty: every mailbox. */
  mailboxIds: string[];
  include: ContentPart[];
  health: WebhookHealthT;
  secretRotatedAt: string | null;
  /** Until then deliveries are signed with the previous secret too. */
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The view once, at creation, with the signing secret. */
export interface WebhookCreatedViewT extends WebhookViewT {
  secret: string;
}

export interface RotatedSecretViewT {
  id: string;
  secret: string;
  previousSecretExpiresAt: string | null;
}

export type DeliveryStatusT = 'pending' | 'delivered' | 'failed';

export interface DeliveryErrorT {
  /** `http_status`, `redirect`, `timeout`, `network`, `target_forbidden`, `signing_failed`. */
  code: string;
  detail: string;
}

export interface DeliveryViewT {
  deliveryId: string;
  /** The `webhook-id` header: the same on every attempt. */
  eventId: string;
  eventType: EventType;
  status: DeliveryStatusT;
  attempts: number;
  lastResponseCode: number | null;
  lastError: DeliveryErrorT | null;
  /** The start of the last response body (at most 1 KiB). */
  lastResponseBody: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

export interface DeliveryListQueryT {
  limit?: number;
  cursor?: string;
}

export interface DeliveryListT {
  items: DeliveryViewT[];
  nextCursor: string | null;
}
