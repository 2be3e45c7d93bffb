/**
 * A received message's content in webhook deliveries (a subscription's
 * `include`). Pure functions; the scheduler stores and reads what they make.
 *
 * Each part becomes the JSON members it adds to the body's `data`
 * (`"text":"…","textTruncated":false`), made once per event and stored once
 * for it (the union of the parts its subscriptions want), however many
 * deliveries it has; a delivery record keeps the envelope body (the body a
 * subscription without `include` gets, byte for byte) and the parts it wants,
 * and the attempt splices their members into `data`. So the body is the same
 * at every attempt, and Redis holds the content once per event, not once per
 * delivery.
 *
 * A delivery that wants content the event does not carry gets the envelope
 * and `"contentOmitted": reason` instead (see message-content.ts for the reasons).
 */
import type { DomainEvent } from '../events/events.js';
import { CONTENT_PARTS, type ContentOmittedReason, type ContentPart, type MessageContent } from '../events/message-content.js';
import type { RetryPolicy } from './retry-schedule.js';
import { MAX_AGE_WINDOWS } from './retry-schedule.js';

/** The JSON members a part adds to `data`. */
export function membersOf(content: MessageContent, part: ContentPart): string {
  const json = JSON.stringify;
  switch (part) {
    case 'text':
      return `"text":${json(content.text)},"textTruncated":${json(content.textTruncated)}`;
    case 'html':
      return `"html":${json(content.html)},"htmlTruncated":${json(content.htmlTruncated)}`;
    case 'headers':
      return `"headers":${json(content.headers)},"headersTruncated":${json(content.headersTruncated)}`;
    case 'attachments':
      return `"attachments":${json(content.attachments)},"attachmentsTruncated":${json(content.attachmentsTruncated)}`;
  }
}

export const omittedMembers = (reason: ContentOmittedReason): string => `"contentOmitted":${JSON.stringify(reason)}`;

/**
 * `body` (records.ts bodyOf: `{"type":…,"timestamp":…,"data":{…}}`, `data` last) with `members`
 * added at the end of `data`.
 */
export function withMembers(body: string, members: readonly string[]): string {
  if (members.length === 0) return body;
  if (!body.endsWith('}}')) throw new Error('a delivery body ends with its data object');
  const head = body.slice(0, -2);
  return `${head}${head.endsWith('{') ? '' : ','}${members.join(',')}}}`;
}

/** The body an attempt sends: the stored members of the delivery's parts, or, when they are gone, the reason. */
export function deliveredBody(body: string, members: readonly string[] | null): string {
  return withMembers(body, members ?? [omittedMembers('expired')]);
}

/** The parts a subscription wants, in the one order bodies list them. */
export function canonicalParts(include: readonly ContentPart[]): ContentPart[] {
  return CONTENT_PARTS.filter((part) => include.includes(part));
}

/** How one delivery of an event is made. */
export type DeliveryContent =
  | { kind: 'none' }
  | { kind: 'omitted' }
  | { kind: 'parts'; parts: ContentPart[] };

export interface ContentPlan {
  /** Per matched subscription, in order. */
  deliveries: DeliveryContent[];
  /** The members of every part some delivery wants, stored once for the event. */
  stored: [ContentPart, string][];
  /** The body of the `omitted` deliveries; undefined when there are none. */
  omittedBody: string | undefined;
}

/**
 * What each subscription's delivery of `event` carries. A subscription without `include` (or an event
 * other than message.received) gets the envelope body as it is.
 */
export function planContent(event: DomainEvent, body: string, matched: readonly { include: readonly ContentPart[] }[]): ContentPlan {
  const content = event.content;
  const wanted = new Set<ContentPart>();
  let omitted = false;
  const deliveries = matched.map(({ include }): DeliveryContent => {
    if (event.type !== 'message.received' || include.length === 0) return { kind: 'none' };
    if (!content?.ok) {
      omitted = true;
      return { kind: 'omitted' };
    }
    const parts = canonicalParts(include);
    for (const part of parts) wanted.add(part);
    return { kind: 'parts', parts };
  });
  const stored: [ContentPart, string][] = content?.ok ? canonicalParts([...wanted]).map((part) => [part, membersOf(content.content, part)]) : [];
  const reason = content && !content.ok ? content.omitted : 'unavailable';
  return { deliveries, stored, omittedBody: omitted ? withMembers(body, [omittedMembers(reason)]) : undefined };
}

/**
 * How long an event's stored content lives at most (ms). It is freed when the last delivery that
 * wants it ends; this bounds it when that never comes (a subscription deleted with deliveries pending).
 * A delivery is given up at its first failure after MAX_AGE_WINDOWS windows, the next at most a
 * capped delay (plus jitter) later: twice that delay covers it. A delivery paced past that (an
 * unhealthy endpoint) is sent with `contentOmitted: "expired"`.
 */
export function contentTtlMs(policy: RetryPolicy): number {
  return MAX_AGE_WINDOWS * policy.windowMs + 2 * policy.maxDelayMs;
}
