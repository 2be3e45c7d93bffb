/**
 * The events mailsync delivers by webhook, typed by hand: the OpenAPI document describes the
 * REST API, not the webhook bodies. The list of event types and the attachment metadata come from
 * the generated schema (POST /v1/webhooks `events`, GET …/messages/{uid} `attachments`), so a new
 * type there does not compile here until its data is typed below; the shapes follow the
 * service's src/domain/events/events.ts, which test/unit/client-events.test.ts holds them to.
 *
 * A delivery's body is `{ type, timestamp, data }`; verifyWebhook() adds `id`, the
 * `webhook-id` header: the same across retries of one delivery, so a receiver drops repeats by it.
 */
import type { paths } from './schema.js';

type CreateWebhookBody = paths['/v1/webhooks']['post']['requestBody']['content']['application/json'];
type ParsedMessage = paths['/v1/mailboxes/{id}/messages/{uid}']['get']['responses'][200]['content']['application/json'];

export type WebhookEventType = CreateWebhookBody['events'][number];
export type ContentPart = NonNullable<CreateWebhookBody['include']>[number];
export type AttachmentMetadata = ParsedMessage['attachments'][number];

const KNOWN: Record<WebhookEventType, true> = {
  'message.received': true,
  'message.sent': true,
  'message.failed': true,
  'mailbox.error': true,
  'mailbox.recovered': true,
  'mailbox.authorized': true,
  'message.updated': true,
  'message.deleted': true,
  'message.bounced': true,
  'connection.credential_expiring': true,
  'connection.consented': true,
};

/** Every event type this client knows, in the service's order. */
export const WEBHOOK_EVENT_TYPES = Object.keys(KNOWN) as readonly WebhookEventType[];

export function isWebhookEventType(type: unknown): type is WebhookEventType {
  return typeof type === 'string' && Object.hasOwn(KNOWN, type);
}

export interface EventError {
  code: string;
  detail: string;
  hint?: string;
}

/** Which message of a watched folder an event is about. */
export interface MessageRef {
  mailboxId: string;
  email: string;
  folder: string;
  uidValidity: number;
  uid: number;
  messageId: string | null;
}

/**
 * What a subscription's `include` adds to `message.received`: each part it names, with its
 * `…Truncated` flag; or `contentOmitted` when the message could not be given.
 */
export interface ReceivedContent {
  text?: string | null;
  textTruncated?: boolean;
  html?: string | null;
  htmlTruncated?: boolean;
  headers?: { name: string; value: string }[];
  headersTruncated?: boolean;
  attachments?: AttachmentMetadata[];
  attachmentsTruncated?: boolean;
  contentOmitted?: 'too_large' | 'unparseable' | 'unavailable' | 'expired';
}

export interface WebhookEventData {
  'message.received': MessageRef & ReceivedContent & {
    subject: string | null;
    from: string[];
    to: string[];
    cc: string[];
    date: string | null;
    size: number | null;
    /** The server's envelope was too large: announced by UID and size alone. */
    envelopeTooLarge?: true;
  };
  'message.sent': { sendId: string; mailboxId: string; messageId: string | null; smtpResponse: string | null };
  'message.failed': { sendId: string; mailboxId: string; error: EventError };
  'mailbox.error': { mailboxId: string; state: string; error: EventError };
  'mailbox.recovered': { mailboxId: string; state: string };
  'mailbox.authorized': { mailboxId: string; email: string };
  'message.updated': MessageRef & {
    flags: string[];
    changed: { seen?: boolean; flagged?: boolean; answered?: boolean };
  };
  'message.deleted': MessageRef;
  'message.bounced': {
    sendId: string;
    mailboxId: string;
    messageId: string;
    recipient: string;
    action: 'failed' | 'delayed';
    status: string | null;
    diagnosticCode: string | null;
  };
  /** Sent at 30, 7 and 1 day(s) before the connection's secret or certificate expires, and at expiry (threshold 0). */
  'connection.credential_expiring': {
    connectionId: string;
    name: string;
    /** The credential that expires (api.md: `credential { type, expiresAt }`). */
    credential: { type: 'secret' | 'certificate'; expiresAt: string };
    /** Whole days left (0 once expired). */
    daysLeft: number;
    /** The warning's threshold in days: 30, 7, 1 or 0. */
    threshold: number;
  };
  /** A tenant's administrator granted admin consent to the connection's app. */
  'connection.consented': { connectionId: string; name: string; tenantId: string };
}

/** One verified delivery; switch on `type` to narrow `data`. */
export type WebhookEvent<T extends WebhookEventType = WebhookEventType> = {
  [K in T]: {
    /** The `webhook-id` header: stable across retries, the key to drop repeats by. */
    id: string;
    type: K;
    /** ISO 8601 UTC, when the event happened. */
    timestamp: string;
    data: WebhookEventData[K];
  };
}[T];
