/**
 * The stored shape of a subscription, which events it wants, and how stored
 * records become API views. Pure functions.
 */
import { createHash } from 'node:crypto';
import type { DomainEvent, EventType } from '../events/events.js';
import type { ContentPart } from '../events/message-content.js';
import type { DeliveryRecord, HealthRecord } from '../../store/webhook-delivery-reads.js';
import type { DeliveryErrorT, DeliveryViewT, WebhookHealthT, WebhookViewT } from './model.js';

export interface StoredSecret {
  /** Numbered from 1; part of the associated data, so an envelope cannot move to another slot unnoticed. */
  version: number;
  /** AES-256-GCM envelope of the `whsec_…` secret, associated data `webhook:<id>:secret:<version>`. */
  envelope: string;
}

export interface WebhookRecord {
  id: string;
  url: string;
  description: string | null;
  events: EventType[];
  /** Empty: every mailbox. */
  mailboxIds: string[];
  /** What message.received deliveries carry besides the envelope; absent (records before it) or empty: nothing. */
  include?: ContentPart[];
  secret: StoredSecret;
  /** The secret before the last rotation, still signing until `expiresAt`. */
  previousSecret: (StoredSecret & { expiresAt: string }) | null;
  secretRotatedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export const secretAad = (id: string, version: number): string => `webhook:${id}:secret:${version}`;

/** Whether a subscription wants an event: its type, and its mailbox when the subscription names some. */
export function wants(record: Pick<WebhookRecord, 'events' | 'mailboxIds'>, event: DomainEvent): boolean {
  if (!record.events.includes(event.type)) return false;
  if (record.mailboxIds.length === 0) return true;
  const mailboxId = (event.data as { mailboxId?: unknown }).mailboxId;
  return typeof mailboxId === 'string' && record.mailboxIds.includes(mailboxId);
}

/** Whether a subscription wants the content of this mailbox's received messages. */
export function wantsContentOf(record: Pick<WebhookRecord, 'events' | 'mailboxIds' | 'include'>, mailboxId: string): boolean {
  if (!record.include?.length || !record.events.includes('message.received')) return false;
  return record.mailboxIds.length === 0 || record.mailboxIds.includes(mailboxId);
}

/**
 * One delivery per (subscription, event), with an id derived from both: the
 * same event published twice maps to the same delivery, which is what makes
 * publishing idempotent.
 */
export function deliveryIdOf(subscriptionId: string, eventId: string): string {
  const digest = createHash('sha256').update(`${subscriptionId}\n${eventId}`).digest('base64url');
  return `dlv_${digest.slice(0, 16)}`;
}

/** The JSON body of every attempt of an event's delivery. */
export function bodyOf(event: DomainEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function healthView(health: HealthRecord | undefined): WebhookHealthT {
  return {
    status: health?.unhealthy ? 'unhealthy' : 'healthy',
    consecutiveFailures: health?.consecutiveFailures ?? 0,
    failingSince: iso(health?.failingSince ?? null),
    lastSuccessAt: iso(health?.lastSuccessAt ?? null),
    lastFailureAt: iso(health?.lastFailureAt ?? null),
  };
}

export function webhookView(record: WebhookRecord, health: HealthRecord | undefined, now: Date): WebhookViewT {
  const previous = record.previousSecret;
  return {
    id: record.id,
    url: record.url,
    description: record.description,
    events: record.events,
    mailboxIds: record.mailboxIds,
    include: record.include ?? [],
    health: healthView(health),
    secretRotatedAt: record.secretRotatedAt,
    previousSecretExpiresAt: previous && Date.parse(previous.expiresAt) > now.getTime() ? previous.expiresAt : null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

function parseError(raw: string | null): DeliveryErrorT | null {
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as { code?: unknown; detail?: unknown };
    return { code: String(parsed.code ?? 'unknown'), detail: String(parsed.detail ?? '') };
  } catch {
    return { code: 'unknown', detail: raw };
  }
}

export function deliveryView(record: DeliveryRecord): DeliveryViewT {
  const status = record.status === 'delivered' || record.status === 'failed' ? record.status : 'pending';
  return {
    deliveryId: record.id,
    eventId: record.eventId,
    eventType: record.eventType as EventType,
    status,
    attempts: record.attempts,
    lastResponseCode: record.lastResponseCode,
    lastError: parseError(record.lastError),
    lastResponseBody: record.lastResponseBody,
    lastAttemptAt: iso(record.lastAttemptAt),
    nextAttemptAt: status === 'pending' ? iso(record.nextAttemptAt) : null,
    createdAt: new Date(record.createdAt).toISOString(),
  };
}
