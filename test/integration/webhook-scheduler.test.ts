/**
 * The scheduling scripts against a real Redis, with a clock the test moves:
 * slots per subscription, tickets, lost slots coming back, pacing of an
 * unhealthy endpoint, and retention of finished deliveries.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { createRedis, type Redis } from '../../src/adapters/redis/redis.js';
import { createKeySpace, type KeySpace } from '../../src/store/keys.js';
import { WebhookDeliveryReads } from '../../src/store/webhook-delivery-reads.js';
import { WebhookScheduler, type Admission, type SchedulerOptions, type Ticket } from '../../src/store/webhook-scheduler.js';

const SUB = 'whk_AAAAAAAAAAAAAAAA';
const OPTIONS: SchedulerOptions = {
  maxInFlight: 2,
  admissionLeaseMs: 60_000,
  attemptLeaseMs: 20_000,
  unhealthyAfterFailures: 2,
  probeIntervalMs: 5_000,
  retentionCount: 3,
  retentionMs: 86_400_000,
};

let server: SandboxRedis;
let redis: Redis;
let keys: KeySpace;
let clock: number;
let scheduler: WebhookScheduler;
let reads: WebhookDeliveryReads;

beforeAll(async () => {
  server = await startRedis();
  redis = createRedis(server.url, 'command', 'test');
  await redis.connect();
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

beforeEach(() => {
  keys = createKeySpace(`sched-${randomBytes(4).toString('hex')}`);
  clock = 1_700_000_000_000;
  scheduler = new WebhookScheduler(redis, keys.webhookDelivery, OPTIONS, () => clock);
  reads = new WebhookDeliveryReads(redis, keys.webhookDelivery);
});

const id = (n: number): string => `dlv_${String(n).padStart(16, '0')}`;
const tickets = (admissions: Admission[]): Ticket[] => admissions.flatMap((a) => a.tickets);

async function publish(n: number, sub = SUB): Promise<Ticket[]> {
  return tickets(await scheduler.publish({ id: `evt_${n}`, type: 'message.sent', body: '{}' }, [{ subscriptionId: sub, deliveryId: id(n) }]));
}

async function attempt(ticket: Ticket, ok: boolean): Promise<Ticket[]> {
  const claimed = await scheduler.claim(ticket);
  expect(claimed.kind).toBe('ok');
  const admission = await scheduler.finish(ticket, ok
    ? { outcome: 'delivered', attempt: 'success', fields: { status: 'delivered', attempts: 1 } }
    : { outcome: 'retry', attempt: 'failure', nextAttemptAt: clock + 1_000, fields: { attempts: 1, nextAttemptAt: clock + 1_000 } });
  return admission?.tickets ?? [];
}

/** The subscription's delivery records, newest first (the first page of the log). */
async function listed(): Promise<{ id: string }[]> {
  const page = await reads.list(SUB, 10);
  if (page === 'invalid_cursor') throw new Error('a first page takes no cursor');
  return page.records;
}

describe('webhook scheduler', () => {
  it('admits at most maxInFlight deliveries per subscription; a finished one lets the next in', async () => {
    const first = [...(await publish(1)), ...(await publish(2)), ...(await publish(3))];
    expect(first.map((t) => t.deliveryId)).toEqual([id(1), id(2)]);
    expect(await publish(4, 'whk_BBBBBBBBBBBBBBBB')).toHaveLength(1); // another subscription has its own slots
    const next = await attempt(first[0]!, true);
    expect(next.map((t) => t.deliveryId)).toEqual([id(3)]);
  });

  it('creates a delivery once, however often its event is published', async () => {
    expect(await publish(1)).toHaveLength(1);
    expect(await publish(1)).toHaveLength(0);
    expect(await listed()).toHaveLength(1);
  });

  it('publishes a list of events with one call: every delivery created once, maxInFlight admitted per subscription', async () => {
    const other = 'whk_BBBBBBBBBBBBBBBB';
    const events = [1, 2, 3, 4].map((n) => ({
      event: { id: `evt_${n}`, type: 'message.received', body: `{"n":${n}}` },
      deliveries: [{ subscriptionId: SUB, deliveryId: id(n) }, { subscriptionId: other, deliveryId: id(10 + n) }],
    }));
    const admitted = await scheduler.publishAll(events);
    expect(admitted.map((a) => a.tickets.map((t) => t.subscriptionId))).toEqual([[SUB, SUB], [other, other]]);
    expect(await listed()).toHaveLength(4);
    expect((await reads.get(id(13)))?.eventId).toBe('evt_3');
    // The same list again (a poll announcing its batch again): nothing new, nothing admitted.
    expect(await scheduler.publishAll(events)).toEqual([]);
    expect(await listed()).toHaveLength(4);
    // The parked ones follow as slots free up.
    const next = await attempt(admitted[0]!.tickets[0]!, true);
    expect(next).toHaveLength(1);
    expect([id(3), id(4)]).toContain(next[0]!.deliveryId);
  });

  it('honours only the current ticket, once', async () => {
    const [ticket] = await publish(1);
    expect(await scheduler.claim({ ...ticket!, ticket: '999' })).toEqual({ kind: 'stale' });
    expect((await scheduler.claim(ticket!)).kind).toBe('ok');
    expect(await scheduler.claim(ticket!)).toEqual({ kind: 'stale' });
  });

  it('takes back a slot whose job was lost and admits the delivery again with a new ticket', async () => {
    const [lost] = await publish(1);
    expect(await scheduler.due(10)).toEqual([]);
    clock += OPTIONS.admissionLeaseMs + 1;
    expect(await scheduler.due(10)).toEqual([SUB]);
    const again = tickets([await scheduler.admit(SUB)]);
    expect(again).toHaveLength(1);
    expect(again[0]!.deliveryId).toBe(id(1));
    expect(again[0]!.ticket).not.toBe(lost!.ticket);
    expect(await scheduler.claim(lost!)).toEqual({ kind: 'stale' });
    expect((await scheduler.claim(again[0]!)).kind).toBe('ok');
  });

  it('parks a failed delivery until its retry time, then the sweeper admits it', async () => {
    const [ticket] = await publish(1);
    expect(await attempt(ticket!, false)).toEqual([]);
    expect(tickets([await scheduler.admit(SUB)])).toEqual([]);
    clock += 1_000;
    expect(await scheduler.due(10)).toEqual([SUB]);
    expect(tickets([await scheduler.admit(SUB)]).map((t) => t.deliveryId)).toEqual([id(1)]);
  });

  it('paces an unhealthy endpoint: one attempt at a time, probeInterval after each failure, in the probe lane', async () => {
    const admitted: Ticket[] = [];
    for (let n = 1; n <= 6; n++) admitted.push(...(await publish(n)));
    const [first, second] = admitted;
    const third = await attempt(first!, false); // one failure: still healthy, the next delivery is let in
    expect(third.map((t) => t.deliveryId)).toEqual([id(3)]);
    expect(await attempt(second!, false)).toEqual([]); // two in a row: unhealthy, nothing more is let in
    expect((await reads.health([SUB]))[0]).toMatchObject({ unhealthy: true, consecutiveFailures: 2 });

    clock += OPTIONS.probeIntervalMs;
    expect((await scheduler.admit(SUB)).tickets).toEqual([]); // one at a time: the third still holds the slot
    expect(await attempt(third[0]!, false)).toEqual([]);
    expect((await scheduler.admit(SUB)).tickets).toEqual([]); // and the next waits probeInterval
    clock += OPTIONS.probeIntervalMs;
    const probe = await scheduler.admit(SUB);
    expect(probe).toMatchObject({ lane: 'probe', tickets: [{ deliveryId: id(4) }] });

    const drained = await attempt(probe.tickets[0]!, true); // healthy again: full slots, main lane
    expect(drained.map((t) => t.deliveryId)).toEqual([id(5), id(6)]);
    expect((await reads.health([SUB]))[0]).toMatchObject({ unhealthy: false, consecutiveFailures: 0 });
  });

  it('keeps the last retentionCount finished deliveries', async () => {
    for (let n = 1; n <= 5; n++) {
      const [ticket] = await publish(n);
      clock += 1;
      await attempt(ticket!, true);
    }
    const left = (await listed()).map((r) => r.id);
    expect(left).toEqual([id(5), id(4), id(3)]);
    expect(await redis.exists(keys.webhookDelivery.record(id(1)))).toBe(0);
    expect(await redis.pttl(keys.webhookDelivery.record(id(5)))).toBeGreaterThan(0);
  });

  it('retries a finished delivery by hand, and refuses a pending one', async () => {
    const [ticket] = await publish(1);
    expect(await scheduler.retry(SUB, id(1))).toBe('pending');
    await attempt(ticket!, true);
    const again = await scheduler.retry(SUB, id(1));
    expect(again).toMatchObject({ lane: 'main', tickets: [{ deliveryId: id(1) }] });
    expect(await scheduler.retry(SUB, id(9))).toBe('missing');
    expect(await redis.pttl(keys.webhookDelivery.record(id(1)))).toBe(-1);
  });
});
