/** @mailsync/client: the typed REST client and the webhook verifier. Importing it starts nothing. */
export { createMailsyncClient, type MailsyncClient, type MailsyncClientOptions } from './client.js';
export { InvalidWebhookError, MailsyncApiError, MailsyncClientError, type InvalidWebhookCode, type Problem } from './errors.js';
export {
  WEBHOOK_EVENT_TYPES,
  isWebhookEventType,
  type AttachmentMetadata,
  type ContentPart,
  type EventError,
  type MessageRef,
  type ReceivedContent,
  type WebhookEvent,
  type WebhookEventData,
  type WebhookEventType,
} from './events.js';
export { unwrap, type ClientResult, type SuccessData } from './unwrap.js';
export { TIMESTAMP_TOLERANCE_SECONDS, verifyWebhook, type WebhookHeaders } from './verify-webhook.js';
export type { components, operations, paths } from './schema.js';
