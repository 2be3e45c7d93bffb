/**
 * verifyWebhook() of the typed client: deliveries signed here with the standardwebhooks package
 * (as the service signs them), then accepted as typed events or refused with the reason.
 * test/integration/typed-client.test.ts verifies deliveries the service made.
 */
import { randomBytes } from 'node:crypto';
import { InvalidWebhookError, verifyWebhook, type InvalidWebhookCode, type WebhookEvent } from '@mailsync/client';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;
const SECRET = newSecret();

const RECEIVED = {
  type: 'message.received',
  timestamp: '2026-01-05T10:00:00.000Z',
  data: {
    mailboxId: 'mbx_AAAAAAAAAAAAAAAA', email: 'desk@contoso.example', folder: 'INBOX', uidValidity: 7, uid: 42,
    messageId: '<a@example.org>', subject: 'Order 4711', from: ['customer@example.org'], to: ['desk@contoso.example'], cc: [],
    date: '2026-01-05T09:59:00.000Z', size: 1234,
  },
};

interface Delivery {
  headers: Record<string, string>;
  body: string;
}

function sign(body: string, { secret = SECRET, id = 'msg_0123456789abcdef', at = new Date() }: { secret?: string; id?: string; at?: Date } = {}): Delivery {
  return {
    body,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    },
  };
}

function refusal(run: () => unknown): { code: InvalidWebhookCode; message: string } {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidWebhookError);
    const { code, message, name } = err as InvalidWebhookError;
    expect(name).toBe('InvalidWebhookError');
    return { code, message };
  }
  throw new Error('verifyWebhook accepted the delivery');
}

describe('verifyWebhook', () => {
  it('answers a signed delivery as its typed event, with the webhook-id as id', () => {
    const { headers, body } = sign(JSON.stringify(RECEIVED));
    const event: WebhookEvent = verifyWebhook(SECRET, headers, body);
    expect(event.id).toBe('msg_0123456789abcdef');
    if (event.type !== 'message.received') throw new Error(`a ${event.type} event`);
    // Narrowed: data is the message.received shape.
    expect(event.data.uid).toBe(42);
    expect(event.data.subject).toBe('Order 4711');
    expect(event).toEqual({ id: 'msg_0123456789abcdef', ...RECEIVED });
  });

  it('takes the body as bytes and the headers as fetch Headers or Node headers in any case', () => {
    const { headers, body } = sign(JSON.stringify({ type: 'message.sent', timestamp: RECEIVED.timestamp, data: { sendId: 'snd_1', mailboxId: 'mbx_1', messageId: null, smtpResponse: '250 OK' } }));
    expect(verifyWebhook(SECRET, new Headers(headers), Buffer.from(body)).type).toBe('message.sent');
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(SECRET, upper, new TextEncoder().encode(body)).type).toBe('message.sent');
  });

  it('accepts either signature during a secret rotation', () => {
    const oldSecret = newSecret();
    const at = new Date();
    const body = JSON.stringify(RECEIVED);
    const withNew = sign(body, { at });
    const withOld = sign(body, { at, secret: oldSecret });
    const headers = { ...withNew.headers, 'webhook-signature': `${withNew.headers['webhook-signature']} ${withOld.headers['webhook-signature']}` };
    expect(verifyWebhook(oldSecret, headers, body).type).toBe('message.received');
    expect(verifyWebhook(SECRET, headers, body).type).toBe('message.received');
  });

  it('refuses a body changed after signing', () => {
    const { headers, body } = sign(JSON.stringify(RECEIVED));
    expect(refusal(() => verifyWebhook(SECRET, headers, body.replace('Order 4711', 'Order 4712'))).code).toBe('bad_signature');
  });

  it('refuses a delivery signed with another secret', () => {
    const { headers, body } = sign(JSON.stringify(RECEIVED), { secret: newSecret() });
    expect(refusal(() => verifyWebhook(SECRET, headers, body)).code).toBe('bad_signature');
  });

  it('refuses a timestamp more than 5 minutes old or ahead, although signed', () => {
    const old = sign(JSON.stringify(RECEIVED), { at: new Date(Date.now() - 6 * 60_000) });
    expect(refusal(() => verifyWebhook(SECRET, old.headers, old.body)).code).toBe('stale_timestamp');
    const ahead = sign(JSON.stringify(RECEIVED), { at: new Date(Date.now() + 6 * 60_000) });
    expect(refusal(() => verifyWebhook(SECRET, ahead.headers, ahead.body)).code).toBe('stale_timestamp');
  });

  it('refuses a signed body that is not JSON, or not an event', () => {
    for (const body of ['{"type": "message.received", ', '[]', '"text"', JSON.stringify({ type: 'message.sent', timestamp: RECEIVED.timestamp }), JSON.stringify({ ...RECEIVED, type: 7 })]) {
      const delivery = sign(body);
      expect(refusal(() => verifyWebhook(SECRET, delivery.headers, delivery.body)).code, body).toBe('malformed_payload');
    }
  });

  it('refuses a signed event of a type this client does not know', () => {
    const { headers, body } = sign(JSON.stringify({ ...RECEIVED, type: 'message.exploded' }));
    expect(refusal(() => verifyWebhook(SECRET, headers, body))).toMatchObject({ code: 'unknown_event_type', message: expect.stringContaining('message.exploded') });
  });

  it('refuses a delivery without one of the three headers, or with a timestamp that is no number', () => {
    const { headers, body } = sign(JSON.stringify(RECEIVED));
    for (const name of Object.keys(headers)) {
      const { [name]: _dropped, ...rest } = headers;
      expect(refusal(() => verifyWebhook(SECRET, rest, body)).code, name).toBe('missing_headers');
    }
    expect(refusal(() => verifyWebhook(SECRET, { ...headers, 'webhook-timestamp': 'yesterday' }, body)).code).toBe('missing_headers');
  });

  it('refuses a secret that is not a whsec_ secret, without quoting it', () => {
    const { headers, body } = sign(JSON.stringify(RECEIVED));
    for (const secret of ['', 'whsec_', 'whsec_%%not-base64-secret%%']) {
      const { code, message } = refusal(() => verifyWebhook(secret, headers, body));
      expect(code, secret).toBe('invalid_secret');
      expect(message).not.toContain('not-base64-secret');
    }
  });
});
