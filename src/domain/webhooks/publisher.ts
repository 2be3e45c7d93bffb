/**
 * The EventPublisher behind webhooks: one delivery per subscription that
 * wants the event, created in Redis before `publish` resolves (durable), at
 * most once per (subscription, event id) (idempotent: the delivery id is
 * derived from both and created only when absent), then handed to the
 * workers. If handing over fails, the deliveries are already admitted with a
 * lease; the sweeper re-admits them when it runs out, so nothing is lost.
 */
import type { Logger } from '../../logging/logger.js';
import type { WebhookScheduler } from '../../store/webhook-scheduler.js';
import type { DomainEvent, EventPublisher } from '../events/events.js';
import type { Dispatch } from './deliveries.js';
import { bodyOf, deliveryIdOf } from './records.js';
import type { WebhookSubscriptions } from './subscriptions.js';

export interface WebhookPublisherDeps {
  subscriptions: Pick<WebhookSubscriptions, 'matching'>;
  scheduler: WebhookScheduler;
  dispatch: Dispatch;
  logger: Logger;
}

export class WebhookPublisher implements EventPublisher {
  constructor(private readonly deps: WebhookPublisherDeps) {}

  async publish(event: DomainEvent): Promise<void> {
    const subscriptionIds = await this.deps.subscriptions.matching(event);
    if (subscriptionIds.length === 0) return;
    const admissions = await this.deps.scheduler.publish(
      { id: event.id, type: event.type, body: bodyOf(event) },
      subscriptionIds.map((subscriptionId) => ({ subscriptionId, deliveryId: deliveryIdOf(subscriptionId, event.id) })),
    );
    try {
      await this.deps.dispatch(admissions);
    } catch (err) {
      this.deps.logger.warn({ err, eventId: event.id }, 'webhook deliveries stored but not queued; the sweeper will queue them');
    }
  }
}
