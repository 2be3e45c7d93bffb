/**
 * Webhook delivery end to end: the real app and its job module against a real
 * Redis, delivering to the sandbox receiver (on 127.0.0.1, so private
 * networks are allowed here) with short retry delays.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, verifyDelivery, type WebhookReceiver } from '../../sandbox/webhook-receiver.js';
import { messageEventId, newEvent, type DomainEvent } from '../../src/domain/events/events.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { dumpRedis } from '../support/redis-dump.js';

const MAILBOX = 'mbx_AAAAAAAAAAAAAAAA';
const OTHER_MAILBOX = 'mbx_BBBBBBBBBBBBBBBB';

const receivers: WebhookReceiver[] = [];

const redis = useRedis();
const t = useTestApp({
    LOG_LEVEL: 'debug',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_TIMEOUT_MS: '1000',
    // Delays 50, 100, 200, 200 ms: 5 attempts cover the 500 ms window.
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_DELAY_MS: '200',
    WEBHOOK_RETRY_WINDOW_MS: '500',
    WEBHOOK_SWEEP_INTERVAL_MS: '20',
    WEBHOOK_UNHEALTHY_AFTER_FAILURES: '3',
    WEBHOOK_PROBE_INTERVAL_MS: '100',
  }, redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
});

afterEach(async () => {
  for (const view of (await t.deps.webhooks.subscriptions.list({ limit: 500 })).items) await t.deps.webhooks.subscriptions.delete(view.id);
});

afterAll(async () => {
  for (const r of receivers) await r.close();
});

async function receiver(): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

async function subscribe(r: WebhookReceiver, body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${r.url}/hooks/mailsync`, events: ['message.sent', 'message.received'], ...body },
  });
  expect(res.statusCode).toBe(201);
  const view = res.json() as { id: string; secret: string };
  r.setSecrets([view.secret]);
  return view;
}

const sent = (mailboxId = MAILBOX, n = Math.random()): DomainEvent =>
  newEvent('message.sent', { sendId: `snd_${n}`, mailboxId, messageId: `<${n}@x>`, smtpResponse: '250 2.0.0 OK' });

async function deliveries(id: string, query = ''): Promise<{ items: Record<string, unknown>[]; nextCursor: string | null }> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/webhooks/${id}/deliveries${query}`, headers: t.auth });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const deliveryIn = (id: string, status: string) => () =>
  deliveries(id).then((page) => page.items.find((d) => d.status === status));

describe('signed deliveries', () => {
  it('signs per Standard Webhooks: the package verifies the headers and the body', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    const event = newEvent('message.received', {
      mailboxId: MAILBOX, email: 'support@contoso.example', folder: 'INBOX', uidValidity: 7, uid: 42,
      messageId: '<m1@contoso>', subject: 'Hello', from: ['a@x.example'], to: ['support@contoso.example'], cc: [],
      date: '2026-11-26T10:00:00.000Z', size: 1234,
    }, messageEventId(MAILBOX, 'INBOX', 7, 42));
    await t.deps.events.publish(event);
    const got = await r.waitFor(() => true);
    expect(got.verified).toBe(true);
    expect(got.id).toBe(messageEventId(MAILBOX, 'INBOX', 7, 42));
    expect(new Webhook(sub.secret).verify(got.rawBody.toString('utf8'), got.headers)).toEqual({ type: event.type, timestamp: event.timestamp, data: event.data });
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['user-agent']).toMatch(/^mailsync-webhooks\//);
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(got.body).toEqual({ type: 'message.received', timestamp: event.timestamp, data: event.data });
  });

  it('signs with both secrets during the grace period after a rotation', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    const rotated = await t.app.inject({ method: 'POST', url: `/v1/webhooks/${sub.id}/rotate-secret`, headers: t.auth });
    const next = rotated.json().secret as string;
    r.setSecrets([next]);
    await t.deps.events.publish(sent());
    const got = await r.waitFor(() => true);
    expect(got.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    // A receiver that knows only the new secret, and one that knows only the old one, both verify.
    expect(verifyDelivery([next], got.rawBody, got.headers)).toEqual({ verified: true });
    expect(verifyDelivery([sub.secret], got.rawBody, got.headers)).toEqual({ verified: true });
    expect(verifyDelivery([`whsec_${Buffer.alloc(32, 1).toString('base64')}`], got.rawBody, got.headers).verified).toBe(false);
  });
});

describe('retries', () => {
  it('retries a failing receiver and delivers with the same webhook-id', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    r.setBehaviour({ failTimes: 2, failStatus: 503 });
    const event = sent();
    await t.deps.events.publish(event);
    await r.waitFor((d) => d.status === 200);
    expect(r.received.map((d) => [d.id, d.status])).toEqual([[event.id, 503], [event.id, 503], [event.id, 200]]);
    const delivered = await eventually(deliveryIn(sub.id, 'delivered'));
    expect(delivered).toMatchObject({ eventId: event.id, eventType: 'message.sent', attempts: 3, lastResponseCode: 200, lastError: null, nextAttemptAt: null });
  });

  it('gives up after the last attempt, and a manual retry sends it again (409 while pending)', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    r.setBehaviour({ failTimes: 1_000, failStatus: 500 });
    await t.deps.events.publish(sent());
    const pending = await eventually(deliveryIn(sub.id, 'pending'));
    const conflict = await t.app.inject({ method: 'POST', url: `/v1/webhooks/${sub.id}/deliveries/${String(pending.deliveryId)}/retry`, headers: t.auth });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('delivery_pending');

    const failed = await eventually(deliveryIn(sub.id, 'failed'));
    expect(failed).toMatchObject({ attempts: 5, lastResponseCode: 500, lastError: { code: 'http_status', detail: 'HTTP 500' }, nextAttemptAt: null });
    expect(r.received).toHaveLength(5);

    r.setBehaviour({ failTimes: 0 });
    const retried = await t.app.inject({ method: 'POST', url: `/v1/webhooks/${sub.id}/deliveries/${String(failed.deliveryId)}/retry`, headers: t.auth });
    expect(retried.statusCode).toBe(202);
    const delivered = await eventually(deliveryIn(sub.id, 'delivered'));
    expect(delivered).toMatchObject({ deliveryId: failed.deliveryId, attempts: 6, lastResponseCode: 200 });
  });

  it('marks an endpoint that keeps failing unhealthy, and healthy again at its first 2xx', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    r.setBehaviour({ failTimes: 4, failStatus: 502 });
    await t.deps.events.publish(sent());
    const unhealthy = await eventually(async () => {
      const view = (await t.app.inject({ method: 'GET', url: `/v1/webhooks/${sub.id}`, headers: t.auth })).json();
      return view.health.status === 'unhealthy' ? view : undefined;
    });
    expect(unhealthy.health).toMatchObject({ consecutiveFailures: 3, lastSuccessAt: null });
    expect(unhealthy.health.failingSince).not.toBeNull();
    await r.waitFor((d) => d.status === 200);
    const healthy = await eventually(async () => {
      const view = (await t.app.inject({ method: 'GET', url: `/v1/webhooks/${sub.id}`, headers: t.auth })).json();
      return view.health.status === 'healthy' ? view : undefined;
    });
    expect(healthy.health).toMatchObject({ consecutiveFailures: 0, failingSince: null });
    expect(healthy.health.lastSuccessAt).not.toBeNull();
  });
});

describe('what a receiver gets', () => {
  it('delivers an event once per subscription however often it is published', async () => {
    const [a, b] = [await receiver(), await receiver()];
    const [subA] = [await subscribe(a), await subscribe(b)];
    const event = sent();
    await Promise.all([t.deps.events.publish(event), t.deps.events.publish(event)]);
    await t.deps.events.publish(event);
    await a.waitFor(() => true);
    await b.waitFor(() => true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(a.received).toHaveLength(1);
    expect(b.received).toHaveLength(1);
    expect((await deliveries(subA.id)).items).toHaveLength(1);
  });

  it('filters by event type and by mailbox', async () => {
    const r = await receiver();
    await subscribe(r, { events: ['message.sent'], mailboxIds: [MAILBOX] });
    await t.deps.events.publish(sent(OTHER_MAILBOX));
    await t.deps.events.publish(newEvent('mailbox.recovered', { mailboxId: MAILBOX, state: 'active' }));
    const wanted = sent(MAILBOX);
    await t.deps.events.publish(wanted);
    await r.waitFor((d) => d.id === wanted.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.received.map((d) => d.id)).toEqual([wanted.id]);
  });

  it('cuts off a hanging receiver at the timeout and retries it', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    r.setBehaviour({ hang: true });
    await t.deps.events.publish(sent());
    const timedOut = await eventually(async () => {
      const d = (await deliveries(sub.id)).items[0];
      return d && d.lastError ? d : undefined;
    });
    expect(timedOut).toMatchObject({ status: 'pending', lastError: { code: 'timeout', detail: 'no answer within 1000 ms' }, lastResponseCode: null });
    r.setBehaviour({ hang: false });
    await eventually(deliveryIn(sub.id, 'delivered'));
  });

  it('delivers to a receiver that answers 200 with an endless body, keeping 1 KiB of it', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    r.setBehaviour({ hugeBodyBytes: Number.POSITIVE_INFINITY });
    await t.deps.events.publish(sent());
    const delivered = await eventually(deliveryIn(sub.id, 'delivered'));
    expect(delivered.lastResponseBody).toBe('x'.repeat(1024));
  });

  it('does not follow a redirect: it is a failed attempt', async () => {
    const [r, elsewhere] = [await receiver(), await receiver()];
    const sub = await subscribe(r);
    r.setBehaviour({ redirectTo: `${elsewhere.url}/stolen`, redirectStatus: 307 });
    await t.deps.events.publish(sent());
    const attempted = await eventually(async () => (await deliveries(sub.id)).items.find((d) => d.lastError));
    expect(attempted).toMatchObject({ status: 'pending', lastResponseCode: 307, lastError: { code: 'redirect' } });
    expect(String((attempted.lastError as { detail: string }).detail)).toContain(`${elsewhere.url}/stolen`);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('stops delivering to a deleted subscription and forgets its log', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    r.setBehaviour({ failTimes: 1_000 });
    await t.deps.events.publish(sent());
    await r.waitFor(() => true);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/webhooks/${sub.id}`, headers: t.auth })).statusCode).toBe(204);
    const count = r.received.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(r.received.length).toBeLessThanOrEqual(count + 1);
    const keys = await t.deps.redis.keys(`{${t.config.redis.prefix}:wh}:sub:${sub.id}:*`);
    expect(keys).toEqual([]);
  });
});

describe('the delivery log', () => {
  it('pages newest first with a stable cursor', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    const events = Array.from({ length: 7 }, (_, i) => sent(MAILBOX, i));
    for (const event of events) await t.deps.events.publish(event);
    await eventually(async () => (r.received.length === 7 ? true : undefined));
    const seen: unknown[] = [];
    let query = '?limit=3';
    const sizes: number[] = [];
    for (;;) {
      const page = await deliveries(sub.id, query);
      sizes.push(page.items.length);
      seen.push(...page.items.map((d) => d.eventId));
      if (!page.nextCursor) break;
      query = `?limit=3&cursor=${page.nextCursor}`;
    }
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(events.map((e) => e.id).reverse());
  });
});

describe('secrets stay secret', () => {
  it('appear in no log line, no Redis value and no job payload', async () => {
    const r = await receiver();
    const sub = await subscribe(r);
    const rotated = (await t.app.inject({ method: 'POST', url: `/v1/webhooks/${sub.id}/rotate-secret`, headers: t.auth })).json();
    r.setSecrets([rotated.secret]);
    r.setBehaviour({ hang: true });
    await t.deps.events.publish(sent());
    await r.waitFor(() => true);

    const jobs = await t.deps.queues.queue('webhook-delivery').getJobs(['active', 'waiting', 'delayed', 'completed', 'failed']);
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) expect(Object.keys(job.data as object).sort()).toEqual(['deliveryId', 'subscriptionId', 'ticket']);

    const secrets = [sub.secret, rotated.secret];
    const needles = secrets.flatMap((s) => [s, s.slice(6, 30), Buffer.from(s.slice(6), 'base64').toString('hex').slice(0, 24)]);
    const dump = await dumpRedis(t.deps.redis);
    expect(dump.size).toBeGreaterThan(5);
    for (const [key, value] of dump) for (const needle of needles) expect(value, key).not.toContain(needle);
    const logs = t.logs.text();
    expect(logs.length).toBeGreaterThan(0);
    for (const needle of needles) expect(logs).not.toContain(needle);
    r.setBehaviour({ hang: false });
  });
});
