/**
 * Announcing one FETCH batch of new mail: a message.received event per
 * envelope, in UID order, published together (EventPublisher.publishAll: one
 * Redis script call and one hand-over to the queue for the batch, instead of
 * that much per message; issue 19), then the bounce check of each (a bounce is
 * new mail first: the report's message.received, then its message.bounced).
 *
 * The caller moves the cursor only past what this answers as announced, so
 * a poll killed anywhere here announces again at most this batch, with the
 * same event ids (messageEventId), which publishing deduplicates.
 *
 * With content wanted, each message is downloaded and parsed before its event
 * is built (content.ts), and the events gathered so far are published as soon
 * as their content reaches FLUSH_CONTENT_BYTES, so a batch of large messages
 * is not held in memory at once. The per-folder byte budget ends the batch
 * after the message that reaches it.
 */
import { messageEventId, newEvent, publishInOrder, type DomainEvent, type EventPublisher, type MessageSummary } from '../events/events.js';
import type { MailboxRecord } from '../mailboxes/service.js';
import { isDeliveryReportType } from '../sending/delivery-report.js';
import { checkBounce, type BounceHandler } from './bounce-check.js';
import { fetchContent, type ContentPorts, type ContentSession } from './content.js';

/** A message's envelope as a poll fetches it: what message.received says, and its Content-Type (bounces). */
export type FetchedEnvelope = MessageSummary & { contentType?: string | null };

/**
 * Content bytes (RFC822.SIZE, at most the parse limit each) of the events held before they are
 * published: their parsed content is in memory until then.
 */
export const FLUSH_CONTENT_BYTES = 4 * 1024 * 1024;

export interface AnnouncePorts {
  events: EventPublisher;
  content: ContentPorts;
  bounces?: BounceHandler;
}

export interface AnnounceTarget {
  mailbox: MailboxRecord;
  /** The folder's path on the server (what events name). */
  path: string;
  uidValidity: number;
  session: ContentSession;
}

export interface AnnounceBudget {
  wantsContent: boolean;
  /** Content bytes this poll may still download in this folder; the batch ends after the message that reaches it. */
  contentBytesLeft: number;
}

export interface Announced {
  /** How many envelopes, from the first, were announced: all of them unless the budget ended the batch. */
  count: number;
  /** Content bytes downloaded for them. */
  contentBytes: number;
}

/** The bytes a message's content costs the budget: what was (or would have been) downloaded. */
export function contentCost(size: number | null | undefined, maxBytes: number): number {
  return Math.min(size ?? 0, maxBytes);
}

/**
 * Whether announcing the batch uses the IMAP session (a download for content, or to read a delivery
 * report): the poll then starts no other command beside it.
 */
export function usesSession(batch: readonly FetchedEnvelope[], ports: Pick<AnnouncePorts, 'bounces'>, wantsContent: boolean): boolean {
  return wantsContent || (ports.bounces !== undefined && batch.some((e) => isDeliveryReportType(e.contentType)));
}

/** Whether events holding this much content go out now rather than with the rest of the batch. */
export function flushDue(pendingContentBytes: number): boolean {
  return pendingContentBytes >= FLUSH_CONTENT_BYTES;
}

function received(target: AnnounceTarget, fetched: FetchedEnvelope): DomainEvent<'message.received'> {
  const { contentType: _contentType, ...envelope } = fetched;
  const { mailbox, path, uidValidity } = target;
  return newEvent('message.received', {
    mailboxId: mailbox.id,
    email: mailbox.email,
    folder: path,
    uidValidity,
    ...envelope,
  }, messageEventId(mailbox.id, path, uidValidity, envelope.uid));
}

/** Publishes the gathered events, then checks each of their messages for a bounce, in UID order. */
async function flush(target: AnnounceTarget, pending: { event: DomainEvent; fetched: FetchedEnvelope }[], ports: AnnouncePorts): Promise<void> {
  await publishInOrder(ports.events, pending.map((p) => p.event));
  if (ports.bounces) {
    for (const { fetched } of pending) await checkBounce(target.session, target.path, fetched.uid, fetched.contentType, target.mailbox.id, ports.bounces);
  }
}

/** Announces `batch` (ascending UIDs) in order; see the header. */
export async function announceBatch(
  target: AnnounceTarget, batch: readonly FetchedEnvelope[], ports: AnnouncePorts, budget: AnnounceBudget,
): Promise<Announced> {
  let pending: { event: DomainEvent; fetched: FetchedEnvelope }[] = [];
  let pendingBytes = 0;
  let contentBytes = 0;
  let count = 0;
  for (const fetched of batch) {
    const event = received(target, fetched);
    if (budget.wantsContent) {
      event.content = await fetchContent(target.session, target.path, fetched, ports.content);
      const cost = contentCost(fetched.size, ports.content.maxBytes);
      contentBytes += cost;
      pendingBytes += cost;
    }
    pending.push({ event, fetched });
    count += 1;
    if (budget.wantsContent && contentBytes >= budget.contentBytesLeft) break;
    if (flushDue(pendingBytes)) {
      await flush(target, pending, ports);
      pending = [];
      pendingBytes = 0;
    }
  }
  await flush(target, pending, ports);
  return { count, contentBytes };
}
