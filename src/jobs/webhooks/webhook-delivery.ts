/**
 * Webhook delivery on BullMQ: two queues (lanes) and a sweeper.
 *
 * A job is a ticket for one admitted delivery (see store/webhook-scheduler):
 * `{ subscriptionId, deliveryId, ticket }`, never a secret or a body. Which
 * delivery may run when is decided in Redis by the scheduler, not by BullMQ:
 * each subscription has at most `maxInFlight` deliveries admitted at once, the
 * rest wait in its parked set without a job. So the queues hold at most
 * `maxInFlight` jobs per subscription, and a subscription whose endpoint
 * hangs can hold at most `maxInFlight` of the `concurrency` worker slots, for
 * at most the timeout each: the others keep flowing (no head-of-line
 * blocking). Once an endpoint is unhealthy its deliveries go to the `probe`
 * lane, with its own workers, one at a time: when the attempts it had already
 * been admitted to have ended, a dead endpoint holds no slot of the main lane.
 * (So C main-lane slots stay free for healthy endpoints as long as fewer than
 * C / maxInFlight endpoints turn bad within one timeout of each other.)
 *
 * Retries are not BullMQ retries: a failed attempt parks the delivery until
 * its retry time, and the sweeper (every `sweepIntervalMs`, in every worker
 * process) admits what became due, and re-admits deliveries whose lease ran
 * out (a worker died mid-attempt, or a job never reached the queue).
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Job, QueueFactory } from '../../adapters/queue/bullmq.js';
import type { WebhooksConfig } from '../../config/webhooks-config.js';
import { idPattern } from '../../domain/ids.js';
import type { AttemptResult, DeliveryAttempt } from '../../domain/webhooks/attempt.js';
import type { Logger } from '../../logging/logger.js';
import type { Admission, Lane, Ticket, WebhookScheduler } from '../../store/webhook-scheduler.js';
import type { JobHandler, JobModule, Sweeper } from '../runtime.js';

export const DELIVERY_QUEUES: Readonly<Record<Lane, string>> = { main: 'webhook-delivery', probe: 'webhook-probe' };
export const DELIVERY_JOB = 'deliver';

export const DeliveryJobPayload = Type.Object(
  {
    subscriptionId: Type.String({ pattern: idPattern('whk') }),
    deliveryId: Type.String({ pattern: idPattern('dlv') }),
    ticket: Type.String({ pattern: '^[0-9]{1,20}$' }),
  },
  { additionalProperties: false },
);
export type DeliveryJobPayloadT = Static<typeof DeliveryJobPayload>;
const payloadCheck = Compile(DeliveryJobPayload);

/**
 * A job attempts its delivery, then keeps attempting the deliveries of the
 * same subscription that its end admitted (see DeliveryAttempt.run), up to
 * this many, then hands the rest back to the queue so that a long backlog
 * does not pin one job (and so the queue's order still interleaves).
 */
const MAX_INLINE = 50;

/** How many due subscriptions one sweep step takes. */
const SWEEP_BATCH = 100;

/** Puts admitted deliveries on their lane's queue, one job per ticket (the job id dedupes a double hand-over). */
export function createDispatch(queues: QueueFactory) {
  return async (admissions: readonly Admission[]): Promise<void> => {
    for (const lane of ['main', 'probe'] as const) {
      const jobs = admissions
        .filter((a) => a.lane === lane)
        .flatMap((a) => a.tickets)
        .map((t) => ({
          name: DELIVERY_JOB,
          data: { subscriptionId: t.subscriptionId, deliveryId: t.deliveryId, ticket: t.ticket } satisfies DeliveryJobPayloadT,
          opts: { jobId: `${t.deliveryId}-${t.ticket}`, removeOnComplete: true, removeOnFail: { count: 1000 } },
        }));
      if (jobs.length > 0) await queues.queue<DeliveryJobPayloadT>(DELIVERY_QUEUES[lane]).addBulk(jobs);
    }
  };
}

export interface WebhookJobsDeps {
  scheduler: WebhookScheduler;
  attempt: DeliveryAttempt;
  dispatch: (admissions: readonly Admission[]) => Promise<void>;
  config: WebhooksConfig;
  logger: Logger;
}

export class WebhookJobs implements JobModule {
  readonly name = 'webhooks';
  readonly handlers: readonly JobHandler<DeliveryJobPayloadT>[];
  readonly sweepers: readonly Sweeper[];
  /** While stopping, a job ends after its own delivery and queues the follow-ups, so shutdown is not held up. */
  private stopping = false;

  constructor(private readonly deps: WebhookJobsDeps) {
    const { config, logger } = deps;
    // The lock outlives the longest attempt (the timeout) with room for Redis round trips.
    const lockDurationMs = config.timeoutMs + 30_000;
    const failed = (job: Job<DeliveryJobPayloadT> | undefined, err: Error): void => logger.warn({ err, jobId: job?.id }, 'webhook delivery job failed');
    this.handlers = [
      { queue: DELIVERY_QUEUES.main, process: this.processor('main'), settings: { concurrency: config.concurrency, lockDurationMs }, failed },
      { queue: DELIVERY_QUEUES.probe, process: this.processor('probe'), settings: { concurrency: config.probeConcurrency, lockDurationMs }, failed },
    ];
    this.sweepers = [{ everyMs: config.sweepIntervalMs, run: () => this.sweep(), failed: (err) => logger.warn({ err }, 'webhook sweep failed') }];
  }

  onStart(): void {
    this.stopping = false;
  }

  onStopping(): void {
    this.stopping = true;
  }

  private processor(lane: Lane) {
    return async (job: Job<DeliveryJobPayloadT>): Promise<string> => {
      if (!payloadCheck.Check(job.data)) {
        this.deps.logger.warn({ jobId: job.id }, 'webhook delivery job with an invalid payload dropped');
        return 'invalid';
      }
      let outcome: string | undefined;
      let ticket: Ticket | undefined = job.data;
      for (let n = 1; ticket; n++) {
        const continueInline = !this.stopping && n < MAX_INLINE;
        const result: AttemptResult = await this.deps.attempt.run(ticket, { lane, continueInline });
        outcome ??= result.outcome;
        ticket = result.next;
      }
      return outcome ?? 'stale';
    };
  }

  /** Admits what became due: retries whose time came, unhealthy endpoints' next probe, lost slots. */
  async sweep(): Promise<void> {
    const { scheduler, dispatch } = this.deps;
    // Bounded per tick: what is left is taken by the next tick.
    for (let round = 0; round < 10; round++) {
      const due = await scheduler.due(SWEEP_BATCH);
      const admissions: Admission[] = [];
      for (const subscriptionId of due) admissions.push(await scheduler.admit(subscriptionId));
      await dispatch(admissions.filter((a) => a.tickets.length > 0));
      if (due.length < SWEEP_BATCH) return;
    }
  }
}
