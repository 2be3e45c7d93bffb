/**
 * One delivery attempt, start to finish: claim the admitted delivery, sign
 * and send it, decide what the answer means, record it and hand on the
 * deliveries that may start now. `judge` is the pure part: which answers
 * end a delivery, which are retried, and when.
 */
import { DecryptionError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { ClaimResult, FinishInput, Lane, Ticket, WebhookScheduler } from '../../store/webhook-scheduler.js';
import { deliveredBody } from './content.js';
import type { Dispatch } from './deliveries.js';
import { retryDelayMs, shouldGiveUp, type RetryPolicy } from './retry-schedule.js';
import type { SendResult, WebhookSender } from './sender.js';
import { deliveryHeaders } from './signature.js';
import type { WebhookSubscriptions } from './subscriptions.js';

export type AttemptOutcome = 'stale' | 'dropped' | 'delivered' | 'retry' | 'failed';

export interface AttemptResult {
  outcome: AttemptOutcome;
  /**
   * A delivery of the same subscription and lane that was admitted by this
   * attempt's end, for the caller to attempt right away (see `run`).
   */
  next?: Ticket;
}

export interface RunOptions {
  /** The lane the caller works for: a follow-up is only kept when it belongs there. */
  lane: Lane;
  /** Whether the caller takes a follow-up delivery itself instead of queueing it. */
  continueInline: boolean;
}

type Claimed = Extract<ClaimResult, { kind: 'ok' }>;

/** The error a failed answer is recorded with. */
export function failureOf(result: SendResult): { code: string; detail: string } | undefined {
  if (result.kind === 'error') return { code: result.code, detail: result.detail };
  if (result.status >= 200 && result.status < 300) return undefined;
  if (result.status >= 300 && result.status < 400) {
    return { code: 'redirect', detail: `HTTP ${result.status} redirect${result.location ? ` to ${result.location}` : ''} not followed` };
  }
  return { code: 'http_status', detail: `HTTP ${result.status}` };
}

export interface AttemptTimes {
  /** When the attempt started: recorded as lastAttemptAt. */
  startedAt: number;
  /** When its answer was in: retries count from here. */
  now: number;
}

/**
 * What an answer means for the delivery. Only a 2xx ends it well; every
 * other status, a redirect, a timeout or a network error is retried on the
 * schedule until the delivery is given up. All of them count against the
 * endpoint's health, except a secret we could not decrypt (our fault).
 */
export function judge(result: SendResult, claimed: Claimed, policy: RetryPolicy, times: AttemptTimes, random: () => number = Math.random): FinishInput {
  const { now } = times;
  const attempts = claimed.attempts + 1;
  const failure = failureOf(result);
  const fields: Record<string, string | number> = {
    attempts,
    lastAttemptAt: times.startedAt,
    lastResponseCode: result.kind === 'response' ? result.status : '',
    lastResponseBody: result.kind === 'response' ? result.body : '',
    lastError: failure ? JSON.stringify(failure) : '',
  };
  if (!failure) return { outcome: 'delivered', attempt: 'success', fields: { ...fields, status: 'delivered', nextAttemptAt: '' } };
  const attempt = result.kind === 'error' && result.code === 'signing_failed' ? 'none' : 'failure';
  const failedAttempts = attempts - claimed.budgetAttempts;
  if (shouldGiveUp(policy, { failedAttempts, since: claimed.budgetStart, now })) {
    return { outcome: 'failed', attempt, fields: { ...fields, status: 'failed', nextAttemptAt: '' } };
  }
  const nextAttemptAt = now + retryDelayMs(policy, failedAttempts, random);
  return { outcome: 'retry', attempt, nextAttemptAt, fields: { ...fields, nextAttemptAt } };
}

export interface DeliveryAttemptDeps {
  scheduler: WebhookScheduler;
  subscriptions: Pick<WebhookSubscriptions, 'signing'>;
  sender: WebhookSender;
  dispatch: Dispatch;
  policy: RetryPolicy;
  userAgent: string;
  logger: Logger;
  now?: () => number;
}

export class DeliveryAttempt {
  private readonly now: () => number;

  constructor(private readonly deps: DeliveryAttemptDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Attempts one admitted delivery. When its end frees a slot that a parked
   * delivery of the same subscription takes, and the caller continues inline,
   * that delivery comes back as `next` instead of going through the queue: a
   * backlog then drains with a claim, a send and a finish per delivery, without
   * a job per delivery. The slot count still bounds the subscription.
   */
  async run(ticket: Ticket, options: RunOptions): Promise<AttemptResult> {
    const { scheduler, logger } = this.deps;
    const claimed = await scheduler.claim(ticket);
    if (claimed.kind === 'stale') return { outcome: 'stale' };
    if (claimed.kind === 'gone') return this.finish(ticket, { outcome: 'drop', attempt: 'none' }, 'dropped', options);
    const startedAt = this.now();
    let result: SendResult;
    try {
      const target = await this.deps.subscriptions.signing(ticket.subscriptionId);
      if (!target) return await this.finish(ticket, { outcome: 'discard', attempt: 'none' }, 'dropped', options);
      const body = claimed.content ? deliveredBody(claimed.body, claimed.content.members) : claimed.body;
      const headers = deliveryHeaders({ id: claimed.eventId, body, keys: target.keys, at: new Date(startedAt), userAgent: this.deps.userAgent });
      result = await this.deps.sender.send({ url: target.url, headers, body });
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      // A key problem (ENCRYPTION_KEY changed without ENCRYPTION_KEY_PREVIOUS): retried like a failure, so it shows in the log.
      logger.error({ err, subscriptionId: ticket.subscriptionId }, 'webhook secret cannot be decrypted');
      result = { kind: 'error', code: 'signing_failed', detail: 'the signing secret cannot be decrypted', durationMs: 0 };
    }
    const input = judge(result, claimed, this.deps.policy, { startedAt, now: this.now() });
    if (input.outcome === 'failed') {
      logger.warn({ subscriptionId: ticket.subscriptionId, deliveryId: ticket.deliveryId, code: failureOf(result)?.code }, 'webhook delivery given up');
    } else if (input.outcome === 'retry') {
      logger.debug({ subscriptionId: ticket.subscriptionId, deliveryId: ticket.deliveryId, code: failureOf(result)?.code }, 'webhook attempt failed');
    }
    const outcome = input.outcome === 'delivered' ? 'delivered' : input.outcome === 'failed' ? 'failed' : 'retry';
    return this.finish(ticket, input, outcome, options);
  }

  private async finish(ticket: Ticket, input: FinishInput, outcome: AttemptOutcome, options: RunOptions): Promise<AttemptResult> {
    const admission = await this.deps.scheduler.finish(ticket, input);
    if (!admission) return { outcome: 'stale' };
    const keep = options.continueInline && admission.lane === options.lane ? admission.tickets[0] : undefined;
    const rest = keep ? { ...admission, tickets: admission.tickets.slice(1) } : admission;
    if (rest.tickets.length > 0) await this.deps.dispatch([rest]);
    return keep ? { outcome, next: keep } : { outcome };
  }
}
