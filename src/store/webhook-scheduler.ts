/**
 * Webhook delivery scheduling in Redis: creating deliveries for an event,
 * admitting them into a subscription's in-flight slots, claiming, finishing
 * and retrying them. The scripts are store/lua/webhook-*.lua (the keys they use
 * are described in store/lua/includes/admit-due.lua); this class only
 * assembles their keys and arguments and reads their answers.
 *
 * Every method that frees or fills a slot answers with `Admission`s: the
 * deliveries that may be attempted now, each with a ticket. The caller
 * enqueues one job per ticket; a job whose ticket is no longer current does
 * nothing, so a duplicate or late job is harmless.
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { WebhookDeliveryKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { publishArgs, publishCalls, type NewDelivery, type Publication, type PublishedEvent } from './webhook-publish-args.js';

export type { NewDelivery, NewDeliveryContent, Publication, PublishedEvent } from './webhook-publish-args.js';

export type Lane = 'main' | 'probe';

export interface Ticket {
  subscriptionId: string;
  deliveryId: string;
  ticket: string;
}

/** Deliveries of one subscription that may be attempted now, and the lane (queue) they go to. */
export interface Admission {
  lane: Lane;
  tickets: Ticket[];
}

export interface SchedulerOptions {
  /** Slots per subscription. */
  maxInFlight: number;
  /** How long an admitted delivery may wait in the queue before its slot is taken back (ms). */
  admissionLeaseMs: number;
  /** How long a claimed attempt may run before its slot is taken back (ms); more than the request timeout. */
  attemptLeaseMs: number;
  unhealthyAfterFailures: number;
  probeIntervalMs: number;
  retentionCount: number;
  retentionMs: number;
}

export type ClaimResult =
  | { kind: 'stale' }
  | { kind: 'gone' }
  | {
    kind: 'ok'; body: string; eventId: string; attempts: number; budgetStart: number; budgetAttempts: number;
    /** For a delivery of `parts`: the members of each part in order, or null when the stored content is gone. */
    content?: { parts: string[]; members: string[] | null };
  };

export type Outcome = 'delivered' | 'retry' | 'failed' | 'drop' | 'discard';

export interface FinishInput {
  outcome: Outcome;
  /** Whether an HTTP attempt was made, and whether it succeeded: the endpoint's health follows it. */
  attempt: 'success' | 'failure' | 'none';
  /** For `retry`: when (ms). */
  nextAttemptAt?: number;
  /** Record fields to set (strings; '' for none). */
  fields?: Record<string, string | number>;
}

type RawAdmission = [string, (string | number)[]];

function toTickets(subscriptionId: string, flat: (string | number)[]): Ticket[] {
  const tickets: Ticket[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    tickets.push({ subscriptionId, deliveryId: String(flat[i]), ticket: String(flat[i + 1]) });
  }
  return tickets;
}

function toAdmission(subscriptionId: string, raw: RawAdmission): Admission {
  return { lane: raw[0] === 'probe' ? 'probe' : 'main', tickets: toTickets(subscriptionId, raw[1]) };
}

const admit = new LuaScript('webhook-admit-6');
const publish = new LuaScript('webhook-publish');
const claim = new LuaScript('webhook-claim-3');
const finish = new LuaScript('webhook-finish-9');
const retry = new LuaScript('webhook-retry-8');

export class WebhookScheduler {
  constructor(
    private readonly redis: Redis,
    private readonly keys: WebhookDeliveryKeys,
    private readonly options: SchedulerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  private scheduling(subscriptionId: string): string[] {
    const k = this.keys;
    return [k.slots(subscriptionId), k.parked(subscriptionId), k.tickets(subscriptionId), k.health(subscriptionId)];
  }

  /** Creates the deliveries that do not exist yet; existing ones are left alone (idempotent publishing). */
  async publish(event: PublishedEvent, deliveries: readonly NewDelivery[]): Promise<Admission[]> {
    return this.publishAll([{ event, deliveries }]);
  }

  /**
   * The same for a list of events, in order, with one script call per MAX_DELIVERIES_PER_CALL
   * deliveries (webhook-publish-args.ts): a call's events are created together or not at all. A call
   * that fails leaves the calls before it done (what they admitted is not handed to the queue: the
   * sweeper admits it again when its lease runs out, as after a failed hand-over); publishing the
   * list again creates only the rest.
   */
  async publishAll(publications: readonly Publication[]): Promise<Admission[]> {
    const admissions: Admission[] = [];
    for (const call of publishCalls(publications)) {
      const settings = { now: this.now(), maxInFlight: this.options.maxInFlight, admissionLeaseMs: this.options.admissionLeaseMs };
      const { keys, args } = publishArgs(this.keys, settings, call);
      const flat = (await publish.run(this.redis, keys, args)) as (string | (string | number)[])[];
      for (let i = 0; i + 2 < flat.length; i += 3) {
        const subscriptionId = String(flat[i]);
        admissions.push(toAdmission(subscriptionId, [String(flat[i + 1]), flat[i + 2] as (string | number)[]]));
      }
    }
    return admissions.filter((a) => a.tickets.length > 0);
  }

  /** Admits what is due for one subscription: the sweeper's step, and recovery of lost slots. */
  async admit(subscriptionId: string): Promise<Admission> {
    const k = this.keys;
    const raw = (await admit.run(
      this.redis,
      [...this.scheduling(subscriptionId), k.wakeups(), k.ticketSeq()],
      [subscriptionId, this.now(), this.options.maxInFlight, this.options.admissionLeaseMs],
    )) as RawAdmission;
    return toAdmission(subscriptionId, raw);
  }

  /** Subscriptions the sweeper must look at now. */
  async due(limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.wakeups(), '-inf', String(this.now()), 'LIMIT', 0, limit);
  }

  async claim(t: Ticket): Promise<ClaimResult> {
    const k = this.keys;
    const raw = (await claim.run(
      this.redis,
      [k.slots(t.subscriptionId), k.tickets(t.subscriptionId), k.record(t.deliveryId)],
      [t.deliveryId, t.ticket, this.now(), this.options.attemptLeaseMs],
    )) as (string | null)[];
    if (raw[0] === 'stale') return { kind: 'stale' };
    if (raw[0] !== 'ok') return { kind: 'gone' };
    const claimed: ClaimResult = {
      kind: 'ok',
      body: raw[1] ?? '',
      eventId: raw[2] ?? '',
      attempts: Number(raw[3] ?? 0),
      budgetStart: Number(raw[4] ?? 0),
      budgetAttempts: Number(raw[5] ?? 0),
    };
    const include = raw[6] ?? '';
    if (include === '') return claimed;
    const parts = include.split(',');
    const members = raw[7] === 'stored' ? raw.slice(8, 8 + parts.length).map((m) => m ?? '') : null;
    return { ...claimed, content: { parts, members } };
  }

  /** Records the outcome; undefined when the ticket was no longer current (nothing changed). */
  async finish(t: Ticket, input: FinishInput): Promise<Admission | undefined> {
    const k = this.keys;
    const o = this.options;
    const sub = t.subscriptionId;
    const attempted = input.attempt === 'success' ? '1' : input.attempt === 'failure' ? '0' : '-';
    const args: (string | number)[] = [
      sub, t.deliveryId, t.ticket, this.now(), o.maxInFlight, o.admissionLeaseMs, input.outcome, attempted,
      o.unhealthyAfterFailures, o.probeIntervalMs, o.retentionCount, o.retentionMs, k.recordPrefix(),
      input.nextAttemptAt ?? '',
    ];
    for (const [field, value] of Object.entries(input.fields ?? {})) args.push(field, value);
    const raw = (await finish.run(
      this.redis,
      [k.record(t.deliveryId), k.index(sub), k.finished(sub), ...this.scheduling(sub), k.wakeups(), k.ticketSeq()],
      args,
    )) as [string, string?, (string | number)[]?];
    if (raw[0] !== 'ok') return undefined;
    return toAdmission(sub, [raw[1] ?? 'main', raw[2] ?? []]);
  }

  /** Sends a finished delivery again. */
  async retry(subscriptionId: string, deliveryId: string): Promise<'missing' | 'pending' | Admission> {
    const k = this.keys;
    const raw = (await retry.run(
      this.redis,
      [k.record(deliveryId), k.finished(subscriptionId), ...this.scheduling(subscriptionId), k.wakeups(), k.ticketSeq()],
      [subscriptionId, deliveryId, this.now(), this.options.maxInFlight, this.options.admissionLeaseMs],
    )) as [string, string?, (string | number)[]?];
    if (raw[0] === 'missing' || raw[0] === 'pending') return raw[0];
    return toAdmission(subscriptionId, [raw[1] ?? 'main', raw[2] ?? []]);
  }
}
