/** Standard Webhooks signing with node:crypto, checked by the reference `standardwebhooks` package. */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { deliveryHeaders, newSecret, secretKey, signatureHeader } from '../../src/domain/webhooks/signature.js';

const body = JSON.stringify({ type: 'message.sent', timestamp: '2026-11-26T10:00:00.000Z', data: { sendId: 'snd_1', mailboxId: 'mbx_1' } });

describe('webhook signatures', () => {
  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(secretKey(secret)).toHaveLength(32);
    expect(newSecret()).not.toBe(secret);
  });

  it('signs as the spec says: base64 HMAC-SHA256 of "id.timestamp.body" with the decoded key', () => {
    // The example from the Standard Webhooks specification.
    const key = secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const header = signatureHeader([key], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(header).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies with the standardwebhooks package', () => {
    const secret = newSecret();
    const headers = deliveryHeaders({ id: 'msg_abc', body, keys: [secretKey(secret)], at: new Date(), userAgent: 'test' });
    expect(headers['content-type']).toBe('application/json');
    expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('carries one signature per secret during a rotation; either secret verifies', () => {
    const [next, previous, other] = [newSecret(), newSecret(), newSecret()];
    const headers = deliveryHeaders({ id: 'msg_rot', body, keys: [secretKey(next), secretKey(previous)], at: new Date(), userAgent: 'test' });
    expect(headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(() => new Webhook(next).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(previous).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(other).verify(body, headers)).toThrow();
  });

  it('is bound to the body, the id and the timestamp', () => {
    const secret = newSecret();
    const headers = deliveryHeaders({ id: 'msg_1', body, keys: [secretKey(secret)], at: new Date(), userAgent: 'test' });
    expect(() => new Webhook(secret).verify(body.replace('snd_1', 'snd_2'), headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
    const ts = String(Number(headers['webhook-timestamp']) + 1);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': ts })).toThrow();
  });
});
