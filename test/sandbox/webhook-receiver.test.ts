/**
 * The sandbox webhook receiver: Standard Webhooks verification (with secret rotation)
 * and the misbehaviours the service's delivery worker must survive.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../../sandbox/webhook-receiver.js';

const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;
const SECRET = newSecret();

let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await receiver?.close();
});

beforeEach(() => {
  receiver.reset();
  receiver.setSecrets([SECRET]);
});

const event = { type: 'message.received', timestamp: '2026-11-26T10:00:00.000Z', data: { mailboxId: 'mbx_1', uid: 7 } };

/** A delivery as the service sends it: body, webhook-id, webhook-timestamp, webhook-signature. */
function signed(secret: string, body: unknown = event, id = `msg_${randomBytes(6).toString('hex')}`, date = new Date()) {
  const payload = JSON.stringify(body);
  return {
    id,
    body: payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(date.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, date, payload),
    },
  };
}

function post(delivery: { body: string; headers: Record<string, string> }, path = '/hooks/mailsync', init: RequestInit = {}) {
  return fetch(receiver.url + path, { method: 'POST', body: delivery.body, headers: delivery.headers, ...init });
}

describe('sandbox webhook receiver', () => {
  it('records a correctly signed delivery as verified and answers 200', async () => {
    const delivery = signed(SECRET);
    const res = await post(delivery, '/hooks/mailsync?tenant=1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    const got = await receiver.waitFor((d) => d.id === delivery.id);
    expect(got).toMatchObject({
      verified: true,
      type: 'message.received',
      body: event,
      path: '/hooks/mailsync?tenant=1',
      method: 'POST',
      status: 200,
      timestamp: Number(delivery.headers['webhook-timestamp']),
    });
    expect(got.verifyError).toBeUndefined();
    expect(got.rawBody.toString()).toBe(delivery.body);
    expect(got.headers['webhook-signature']).toMatch(/^v1,/);
  });

  it('refuses a tampered body with 401 and records it unverified', async () => {
    const delivery = signed(SECRET);
    const res = await post({ ...delivery, body: delivery.body.replace('"uid":7', '"uid":8') });
    expect(res.status).toBe(401);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({ verified: false, status: 401, verifyError: 'No matching signature found' });
  });

  it('refuses a stale timestamp, missing headers, and any delivery while no secret is set', async () => {
    const stale = signed(SECRET, event, 'msg_old', new Date(Date.now() - 10 * 60_000));
    expect((await post(stale)).status).toBe(401);
    expect(receiver.received[0]!.verifyError).toBe('Message timestamp too old');

    expect((await post({ body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
    expect(receiver.received[1]!.verifyError).toBe('Missing required headers');

    receiver.setSecrets([]);
    expect((await post(signed(SECRET))).status).toBe(401);
    expect(receiver.received[2]!.verifyError).toMatch(/no secret/);
  });

  it('accepts a signature made with any of several secrets (rotation), and any of several signatures', async () => {
    const next = newSecret();
    receiver.setSecrets([SECRET, next]);
    expect((await post(signed(SECRET))).status).toBe(200);
    expect((await post(signed(next))).status).toBe(200);
    expect((await post(signed(newSecret()))).status).toBe(401);

    // During a rotation the service may sign with both: "v1,<old> v1,<new>".
    receiver.setSecrets([next]);
    const date = new Date();
    const both = signed(SECRET, event, 'msg_both', date);
    both.headers['webhook-signature'] += ' ' + new Webhook(next).sign('msg_both', date, both.body);
    expect((await post(both)).status).toBe(200);
    expect(receiver.received.map((d) => d.verified)).toEqual([true, true, false, true]);
  });

  it('fails the next failTimes deliveries with failStatus, then succeeds', async () => {
    receiver.setBehaviour({ failTimes: 2, failStatus: 503 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(signed(SECRET))).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(receiver.received.map((d) => [d.verified, d.status])).toEqual([
      [true, 503],
      [true, 503],
      [true, 200],
    ]);
  });

  it('hangs: records the delivery but never answers, so the client times out', async () => {
    receiver.setBehaviour({ hang: true });
    const delivery = signed(SECRET);
    await expect(post(delivery, '/', { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const got = await receiver.waitFor((d) => d.id === delivery.id);
    expect(got).toMatchObject({ verified: true, status: null });
  });

  it('delays its answer by delayMs', async () => {
    receiver.setBehaviour({ delayMs: 300 });
    const started = Date.now();
    expect((await post(signed(SECRET))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('answers with a huge body when asked (finite, then endless)', async () => {
    receiver.setBehaviour({ hugeBodyBytes: 3 * 1024 * 1024 });
    let res = await post(signed(SECRET));
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(3 * 1024 * 1024);

    receiver.setBehaviour({ hugeBodyBytes: Infinity });
    res = await post(signed(SECRET));
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let read = 0;
    while (read < 8 * 1024 * 1024) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      read += value!.byteLength;
    }
    await reader.cancel(); // the receiver notices the client left and stops writing
    expect(receiver.received.at(-1)!.status).toBe(200);
  });

  it('redirects when redirectTo is set', async () => {
    receiver.setBehaviour({ redirectTo: 'http://169.254.169.254/latest/meta-data/' });
    const res = await post(signed(SECRET), '/', { redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('http://169.254.169.254/latest/meta-data/');
    receiver.setBehaviour({ redirectStatus: 302 });
    expect((await post(signed(SECRET), '/', { redirect: 'manual' })).status).toBe(302);
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const big = signed(SECRET, { ...event, data: { blob: 'x'.repeat(1024 * 1024 + 10) } });
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(receiver.received[0]).toMatchObject({ verified: false, status: 413, verifyError: expect.stringMatching(/body over/) });
  });

  it('close() ends hanging requests instead of waiting for them', async () => {
    const other = await startWebhookReceiver({ secrets: [SECRET] });
    other.setBehaviour({ hang: true });
    const pending = fetch(other.url, { method: 'POST', ...signed(SECRET) });
    await other.waitFor(() => true);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(pending).rejects.toThrow();
  });
});
