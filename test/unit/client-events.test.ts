/**
 * The client's hand-typed webhook events are the service's: the same types, in the same order,
 * and each data shape the same both ways (checked by `npm run typecheck`: a difference does not compile).
 */
import type { WebhookEventData, WebhookEventType } from '@mailsync/client';
import { WEBHOOK_EVENT_TYPES, isWebhookEventType } from '@mailsync/client';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, type EventData, type EventType } from '../../src/domain/events/events.js';

/** true when each of A and B is assignable to the other. */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Each entry fails to compile when a shape differs, or when a type is missing on either side.
const sameShapes: { [T in EventType & WebhookEventType]: Mutual<EventData[T], WebhookEventData[T]> } = {
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
const sameTypes: Mutual<EventType, WebhookEventType> = true;

describe('webhook event types', () => {
  it('lists the event types the service publishes, in its order', () => {
    expect(WEBHOOK_EVENT_TYPES).toEqual(EVENT_TYPES);
    expect(sameTypes).toBe(true);
    expect(Object.keys(sameShapes)).toEqual([...EVENT_TYPES]);
  });

  it('tells known types from others', () => {
    expect(isWebhookEventType('message.received')).toBe(true);
    expect(isWebhookEventType('message.exploded')).toBe(false);
    expect(isWebhookEventType('toString')).toBe(false);
    expect(isWebhookEventType(42)).toBe(false);
  });
});
