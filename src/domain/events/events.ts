/**
 * Domain events: what the service announces to the outside (by webhook).
 * Producers (polling, sending, authorization) publish through the
 * EventPublisher interface and know nothing of webhooks.
 *
 * `id` is the delivery identity a receiver deduplicates on (the
 * `webhook-id` header): stable across retries, and for `message.received`
 * derived from (mailbox, folder, uidValidity, uid), so announcing the same
 * message twice yields the same id.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EventContent } from './message-content.js';

export const EVENT_TYPES = [
  'message.received',
  'message.sent',
  'message.failed',
  'mailbox.error',
  'mailbox.recovered',
  'mailbox.authorized',
  'message.updated',
  'message.deleted',
  'message.bounced',
  'connection.credential_expiring',
  'connection.consented',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface ErrorInfo {
  code: string;
  detail: string;
  hint?: string;
}

/** What an event says of a message: its envelope, bounded. */
export interface MessageSummary {
  uid: number;
  messageId: string | null;
  subject: string | null;
  from: string[];
  to: string[];
  cc: string[];
  date: string | null;
  size: number | null;
  /**
   * Set when the server's envelope of this message was larger than the service accepts (an
   * enormous header): the message is announced by UID and size alone, its other fields empty.
   */
  envelopeTooLarge?: true;
}

export interface EventData {
  'message.received': { mailboxId: string; email: string; folder: string; uidValidity: number } & MessageSummary;
  'message.sent': { sendId: string; mailboxId: string; messageId: string | null; smtpResponse: string | null };
  'message.failed': { sendId: string; mailboxId: string; error: ErrorInfo };
  'mailbox.error': { mailboxId: string; state: string; error: ErrorInfo };
  'mailbox.recovered': { mailboxId: string; state: string };
  'mailbox.authorized': { mailboxId: string; email: string };
  'message.updated': MessageChange & {
    /** The message's flags now (system flags and keywords, as the server gives them; bounded). */
    flags: string[];
    /** The new value of each of these that changed. */
    changed: { seen?: boolean; flagged?: boolean; answered?: boolean };
  };
  'message.deleted': MessageChange;
  /** A delivery status notification about one recipient of a message mailsync sent. */
  'message.bounced': {
    sendId: string;
    mailboxId: string;
    messageId: string;
    recipient: string;
    /** `failed`, or `delayed` (the reporting server keeps trying). */
    action: 'failed' | 'delayed';
    status: string | null;
    diagnosticCode: string | null;
  };
  /**
   * A connection's credential expires within `threshold` days (30, 7, 1) or has expired (0): announced
   * once per connection, threshold and expiry, across all workers (domain/connections/credential-expiry.ts).
   */
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
  /** A tenant's administrator granted admin consent to the connection's app (POST /v1/connections/{id}/admin-consent). */
  'connection.consented': { connectionId: string; name: string; tenantId: string };
}

/** Which message of a tracked folder changed. */
export interface MessageChange {
  mailboxId: string;
  email: string;
  folder: string;
  uidValidity: number;
  uid: number;
  messageId: string | null;
}

export interface DomainEvent<T extends EventType = EventType> {
  id: string;
  type: T;
  /** ISO 8601 UTC, when the event happened. */
  timestamp: string;
  data: EventData[T];
  /**
   * message.received only, and only when a consumer asked for the message's content (see
   * EventPublisher.contentWanted): its text, HTML, headers and attachments, or why they are missing.
   * Not part of `data`: a consumer that asked for no content gets the event exactly as without it.
   */
  content?: EventContent;
}

export interface EventPublisher {
  /** Durably accepts the event for delivery; publishing the same id twice delivers once per subscription. */
  publish(event: DomainEvent): Promise<void>;
  /**
   * The same for a list of events, in order, at the cost of far fewer round trips than one publish
   * each (a poll's batch of new mail). When it fails, a prefix of the list may have been accepted:
   * publishing the whole list again delivers each event once per subscription still.
   */
  publishAll?(events: readonly DomainEvent[]): Promise<void>;
  /**
   * Whether a consumer of this mailbox's message.received events wants the messages' content (a
   * webhook subscription's `include`). Producers ask once per batch of work (a poll), not per
   * message, and fetch the content only then; a publisher that never wants content leaves it out.
   */
  contentWanted?(mailboxId: string): Promise<boolean>;
}

/** The stable id of a received message's event. */
export function messageEventId(mailboxId: string, folder: string, uidValidity: number, uid: number): string {
  const digest = createHash('sha256').update(`${mailboxId}\n${folder}\n${uidValidity}\n${uid}`).digest('base64url');
  return `msg_${digest.slice(0, 32)}`;
}

export function newEvent<T extends EventType>(type: T, data: EventData[T], id?: string, at = new Date()): DomainEvent<T> {
  return { id: id ?? `evt_${randomUUID().replace(/-/g, '')}`, type, timestamp: at.toISOString(), data };
}

/** Publishes the events in order: at once when the publisher can (publishAll), else one by one. */
export async function publishInOrder(publisher: EventPublisher, events: readonly DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (publisher.publishAll) return publisher.publishAll(events);
  for (const event of events) await publisher.publish(event);
}
