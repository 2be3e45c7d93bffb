/** The deliveries API: a subscription's delivery log, and sending one again. */
import { NotFoundError, ValidationError } from '../../errors/errors.js';
import type { WebhookDeliveryReads } from '../../store/webhook-delivery-reads.js';
import type { Admission, WebhookScheduler } from '../../store/webhook-scheduler.js';
import { isId } from '../ids.js';
import { DeliveryPendingError } from './errors.js';
import { deliveryView } from './records.js';
import type { DeliveryListQueryT, DeliveryListT, DeliveryViewT } from './model.js';
import type { WebhookSubscriptions } from './subscriptions.js';

/** Hands admitted deliveries to the workers (the job module's queues). */
export type Dispatch = (admissions: readonly Admission[]) => Promise<void>;

export const DEFAULT_PAGE_SIZE = 50;

export interface DeliveryLogDeps {
  subscriptions: WebhookSubscriptions;
  reads: WebhookDeliveryReads;
  scheduler: WebhookScheduler;
  dispatch: Dispatch;
}

export class DeliveryLog {
  constructor(private readonly deps: DeliveryLogDeps) {}

  async list(subscriptionId: string, query: DeliveryListQueryT): Promise<DeliveryListT> {
    await this.deps.subscriptions.record(subscriptionId);
    const page = await this.deps.reads.list(subscriptionId, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
    if (page === 'invalid_cursor') {
      throw new ValidationError('cursor is not a cursor this API gave out.', [{ field: '/cursor', message: 'is not a valid cursor' }]);
    }
    return { items: page.records.map(deliveryView), nextCursor: page.nextCursor };
  }

  async get(subscriptionId: string, deliveryId: string): Promise<DeliveryViewT> {
    const record = isId(deliveryId, 'dlv') ? await this.deps.reads.get(deliveryId) : undefined;
    if (!record || record.subscriptionId !== subscriptionId) throw new NotFoundError('Delivery', deliveryId);
    return deliveryView(record);
  }

  /** Queues a delivered or failed delivery again, with a fresh retry budget; a pending one is a 409. */
  async retry(subscriptionId: string, deliveryId: string): Promise<DeliveryViewT> {
    await this.deps.subscriptions.record(subscriptionId);
    await this.get(subscriptionId, deliveryId);
    const result = await this.deps.scheduler.retry(subscriptionId, deliveryId);
    if (result === 'missing') throw new NotFoundError('Delivery', deliveryId);
    if (result === 'pending') throw new DeliveryPendingError(deliveryId);
    await this.deps.dispatch([result]);
    return this.get(subscriptionId, deliveryId);
  }
}
