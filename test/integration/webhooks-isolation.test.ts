/**
 * No head-of-line blocking: with few worker slots and a long timeout, a
 * subscription whose endpoint hangs must not delay another one's deliveries.
 * A plain queue would fill every slot with hanging attempts and make the
 * healthy endpoint wait for the 10 s timeout; the per-subscription slots keep
 * the hanging one to two attempts at a time. (bench/webhooks.ts measures the
 * cost precisely.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../../sandbox/webhook-receiver.js';
import { newEvent } from '../../src/domain/events/events.js';
import { useRedis, useTestApp } from '../support/fixtures.js';

const EVENTS = 200;
/** How long an attempt at the hanging endpoint lasts: what the healthy deliveries would wait if they queued behind it. */
const HANG_TIMEOUT_MS = 30_000;

let healthy: WebhookReceiver;
let dead: WebhookReceiver;

const redis = useRedis();
const t = useTestApp({
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_TIMEOUT_MS: String(HANG_TIMEOUT_MS),
    WEBHOOK_CONCURRENCY: '4',
    WEBHOOK_MAX_IN_FLIGHT: '2',
  }, redis);
beforeAll(async () => {
  [healthy, dead] = [await startWebhookReceiver(), await startWebhookReceiver()];
  await t.deps.jobs.startAll();
});

afterAll(async () => {
  await dead?.close();
  await healthy?.close();
});

async function subscribe(r: WebhookReceiver): Promise<void> {
  const view = await t.deps.webhooks.subscriptions.create({ url: `${r.url}/hook`, events: ['message.sent'] });
  r.setSecrets([view.secret]);
}

describe('isolation between endpoints', () => {
  it('a hanging endpoint does not slow a healthy one', async () => {
    dead.setBehaviour({ hang: true });
    await subscribe(dead);
    await subscribe(healthy);
    const started = Date.now();
    for (let i = 0; i < EVENTS; i++) {
      await t.deps.events.publish(newEvent('message.sent', { sendId: `snd_${i}`, mailboxId: 'mbx_AAAAAAAAAAAAAAAA', messageId: null, smtpResponse: '250 OK' }));
    }
    await healthy.waitFor(() => healthy.received.length >= EVENTS, HANG_TIMEOUT_MS);
    const took = Date.now() - started;
    // Every healthy delivery arrived before the first hanging attempt could end: none waited behind one.
    expect(took).toBeLessThan(HANG_TIMEOUT_MS);
    expect(healthy.received.every((d) => d.verified && d.status === 200)).toBe(true);
    // The hanging endpoint holds its two slots, no more.
    expect(dead.received.length).toBe(2);
  }, HANG_TIMEOUT_MS + 15_000);
});
