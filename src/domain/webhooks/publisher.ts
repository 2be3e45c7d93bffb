/**
 * The EventPublisher behind webhooks: one delivery per subscription that
 * wants the event, created in Redis before `publish` resolves (durable), at
 * most once per (subscription, event id) (idempotent: the delivery id is
 * derived from both and created only when absent), then handed to the
 * workers. If handing over fails, the deliveries are already admitted with a
 * lease; the sweeper re-admits them when it runs out, so nothing is lost.
 *
 * A message.received event may carry the message's content (content.ts): it
 * is stored once for the event, for the subscriptions whose `include` asks
 * for it; the others' deliveries are made exactly as without it.
 */
import type { Logger } from '../../logging/logger.js';
import type { Publication, WebhookScheduler } from '../../store/webhook-scheduler.js';
import type { DomainEvent, EventPublisher } from '../events/events.js';
import { planContent } from './content.js';
import type { Dispatch } from './deliveries.js';
import { bodyOf, deliveryIdOf } from './records.js';
import type { WebhookSubscriptions } from './subscriptions.js';

export interface WebhookPublisherDeps {
  subscriptions: Pick<WebhookSubscriptions, 'matcher' | 'contentWanted'>;
  scheduler: WebhookScheduler;
  dispatch: Dispatch;
  logger: Logger;
  /** How long an event's stored content lives at most, in ms (content.ts contentTtlMs). */
  contentTtlMs: number;
}

export class WebhookPublisher implements EventPublisher {
  constructor(private readonly deps: WebhookPublisherDeps) {}

  async publish(event: DomainEvent): Promise<void> {
    await this.publishAll([event]);
  }

  /**
   * The events in order, with one subscription lookup and, for up to MAX_DELIVERIES_PER_CALL
   * deliveries (store/webhook-publish-args.ts), one Redis script call and one hand-over to the
   * queue: what a poll's batch of new mail costs, instead of that much per message.
   */
  async publishAll(events: readonly DomainEvent[]): Promise<void> {
    const publications: Publication[] = [];
    const matchedOf = await this.deps.subscriptions.matcher();
    for (const event of events) {
      const matched = matchedOf(event);
      if (matched.length === 0) continue;
      const body = bodyOf(event);
      const plan = planContent(event, body, matched);
      publications.push({
        event: {
          id: event.id,
          type: event.type,
          body,
          ...(plan.omittedBody === undefined ? {} : { omittedBody: plan.omittedBody }),
          ...(plan.stored.length === 0 ? {} : { content: { members: plan.stored, ttlMs: this.deps.contentTtlMs } }),
        },
        deliveries: matched.map(({ id }, i) => ({ subscriptionId: id, deliveryId: deliveryIdOf(id, event.id), content: plan.deliveries[i]! })),
      });
    }
    if (publications.length === 0) return;
    const admissions = await this.deps.scheduler.publishAll(publications);
    try {
      await this.deps.dispatch(admissions);
    } catch (err) {
      this.deps.logger.warn({ err, eventId: events[0]?.id, events: events.length }, 'webhook deliveries stored but not queued; the sweeper will queue them');
    }
  }

  contentWanted(mailboxId: string): Promise<boolean> {
    return this.deps.subscriptions.contentWanted(mailboxId);
  }
}
