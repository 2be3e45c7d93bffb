/**
 * The keys and arguments of webhook-publish.lua for a list of events, and how
 * a long list is cut into calls. Pure: the scheduler runs what this builds.
 *
 * A poll publishes a FETCH batch of events (up to 100) at once: one script
 * call instead of one per event (issue 19). A call's size is bounded by its
 * deliveries (events × the subscriptions that want them), not by its events:
 * a script runs alone in Redis, so 100 events for 500 subscriptions are cut
 * into calls of at most MAX_DELIVERIES_PER_CALL deliveries, each atomic. An
 * event's deliveries always go in one call (its content is stored with the
 * first delivery that wants it).
 */
import type { WebhookDeliveryKeys } from './keys.js';

/**
 * Deliveries created per script call at most (about 12 commands each: well under a millisecond of
 * Redis per hundred). An event with more deliveries than this goes alone.
 */
export const MAX_DELIVERIES_PER_CALL = 1_000;

/**
 * What a delivery carries besides the body (domain/webhooks/content.ts): nothing, the body for
 * content that is missing (`omitted`), or parts of the event's stored content.
 */
export type NewDeliveryContent = { kind: 'none' } | { kind: 'omitted' } | { kind: 'parts'; parts: readonly string[] };

export interface NewDelivery {
  subscriptionId: string;
  deliveryId: string;
  /** Absent: `none`. */
  content?: NewDeliveryContent;
}

export interface PublishedEvent {
  id: string;
  type: string;
  /** The JSON body every attempt sends (for deliveries of `parts`, with their members spliced in). */
  body: string;
  /** The body of the `omitted` deliveries. */
  omittedBody?: string;
  /** The event's content, stored once when a delivery of `parts` is created: part → its JSON members. */
  content?: { members: readonly (readonly [string, string])[]; ttlMs: number };
}

/** One event and the deliveries to create for it. */
export interface Publication {
  event: PublishedEvent;
  deliveries: readonly NewDelivery[];
}

/** The scheduling settings a publish call passes: the clock, slots per subscription, admission lease (ms). */
export interface AdmitSettings {
  now: number;
  maxInFlight: number;
  admissionLeaseMs: number;
}

/** How a delivery's content travels to webhook-publish.lua. */
function modeOf(content: NewDeliveryContent | undefined): string {
  if (!content || content.kind === 'none') return '';
  if (content.kind === 'omitted') return '-';
  return content.parts.join(',');
}

/**
 * The publications cut, in order, into calls of at most `max` deliveries each (an event with more
 * goes alone). Events without deliveries are left out: there is nothing to create for them.
 */
export function publishCalls(publications: readonly Publication[], max = MAX_DELIVERIES_PER_CALL): Publication[][] {
  const calls: Publication[][] = [];
  let current: Publication[] = [];
  let size = 0;
  for (const publication of publications) {
    const n = publication.deliveries.length;
    if (n === 0) continue;
    if (current.length > 0 && size + n > max) {
      calls.push(current);
      current = [];
      size = 0;
    }
    current.push(publication);
    size += n;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

/** The keys and arguments of one webhook-publish.lua call (layout in the script's header). */
export function publishArgs(
  keys: WebhookDeliveryKeys, settings: AdmitSettings, publications: readonly Publication[],
): { keys: string[]; args: (string | number)[] } {
  const subscriptions = new Map<string, number>();
  for (const { deliveries } of publications) {
    for (const d of deliveries) if (!subscriptions.has(d.subscriptionId)) subscriptions.set(d.subscriptionId, subscriptions.size + 1);
  }
  const scriptKeys = [keys.wakeups(), keys.ticketSeq()];
  const args: (string | number)[] = [settings.now, settings.maxInFlight, settings.admissionLeaseMs, subscriptions.size];
  for (const subscriptionId of subscriptions.keys()) {
    scriptKeys.push(keys.index(subscriptionId), keys.slots(subscriptionId), keys.parked(subscriptionId), keys.tickets(subscriptionId), keys.health(subscriptionId));
    args.push(subscriptionId);
  }
  for (const { event, deliveries } of publications) {
    const members = event.content?.members ?? [];
    scriptKeys.push(keys.content(event.id));
    args.push(event.id, event.type, event.body, event.omittedBody ?? '', event.content?.ttlMs ?? 0, members.length, ...members.flat(), deliveries.length);
    for (const d of deliveries) {
      // Parts without stored content would claim as "gone": the publisher sends `omitted` instead.
      if (d.content?.kind === 'parts' && (d.content.parts.length === 0 || members.length === 0)) throw new Error('a delivery of parts needs the stored content');
      scriptKeys.push(keys.record(d.deliveryId));
      args.push(subscriptions.get(d.subscriptionId)!, d.deliveryId, modeOf(d.content));
    }
  }
  return { keys: scriptKeys, args };
}
