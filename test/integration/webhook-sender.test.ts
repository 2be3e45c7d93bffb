/**
 * The HTTP side of a delivery against the sandbox receiver: the delivery-time
 * SSRF guard (with an injected resolver, as a DNS rebind would answer), the
 * timeout, the response-size bound, and redirects left unfollowed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../../sandbox/webhook-receiver.js';
import { guardedLookup, TARGET_FORBIDDEN } from '../../src/adapters/http/guarded-lookup.js';
import { UndiciWebhookSender } from '../../src/adapters/http/webhook-sender.js';
import { addressPolicy } from '../../src/domain/webhooks/address-policy.js';
import { deliveryHeaders, newSecret, secretKey } from '../../src/domain/webhooks/signature.js';
import { checkTarget, parseWebhookUrl, type Resolver } from '../../src/domain/webhooks/url-policy.js';

const SECRET = newSecret();
const BODY = '{"type":"message.sent","timestamp":"2026-11-26T10:00:00.000Z","data":{}}';

let receiver: WebhookReceiver;
let port: string;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  port = new URL(receiver.url).port;
});

afterAll(async () => {
  await receiver?.close();
});

beforeEach(() => {
  receiver.reset();
  receiver.setSecrets([SECRET]);
});

/** A correctly signed delivery, so the receiver plays its behaviour instead of answering 401. */
const post = (sender: UndiciWebhookSender, url: string) => {
  const headers = deliveryHeaders({ id: 'evt_sender_test', body: BODY, keys: [secretKey(SECRET)], at: new Date(), userAgent: 'test' });
  return sender.send({ url, headers, body: BODY });
};

describe('delivery-time SSRF guard (private networks not allowed)', () => {
  it('refuses a host name that now resolves to loopback, without connecting', async () => {
    // At subscription time the name was public; by delivery time DNS answers 127.0.0.1.
    const answers = [['93.184.216.34'], ['127.0.0.1']];
    const rebinding: Resolver = async () => (answers.shift() ?? ['127.0.0.1']).map((address) => ({ address, family: 4 }));
    await expect(checkTarget(parseWebhookUrl(`http://rebind.test:${port}/hook`), rebinding)).resolves.toBeUndefined();

    const sender = new UndiciWebhookSender({ timeoutMs: 2_000, resolve: rebinding });
    try {
      const result = await post(sender, `http://rebind.test:${port}/hook`);
      expect(result).toMatchObject({ kind: 'error', code: 'target_forbidden', detail: 'rebind.test resolves to 127.0.0.1, a loopback address' });
      expect(receiver.received).toHaveLength(0);
    } finally {
      await sender.close();
    }
  });

  it('refuses when any of the answers is private (the connection could use it)', async () => {
    const mixed: Resolver = async () => [{ address: '93.184.216.34', family: 4 }, { address: '::1', family: 6 }];
    const sender = new UndiciWebhookSender({ timeoutMs: 2_000, resolve: mixed });
    try {
      expect(await post(sender, `http://mixed.test:${port}/`)).toMatchObject({ kind: 'error', code: 'target_forbidden' });
    } finally {
      await sender.close();
    }
  });

  it.each([
    ['127.0.0.1', `http://127.0.0.1:PORT/hook`],
    ['::ffff:127.0.0.1', `http://[::ffff:127.0.0.1]:PORT/hook`],
    ['::1', `http://[::1]:PORT/hook`],
    ['localhost (system resolver)', `http://localhost:PORT/hook`],
  ])('refuses %s', async (_name, template) => {
    const sender = new UndiciWebhookSender({ timeoutMs: 2_000 });
    try {
      expect(await post(sender, template.replace('PORT', port))).toMatchObject({ kind: 'error', code: 'target_forbidden' });
      expect(receiver.received).toHaveLength(0);
    } finally {
      await sender.close();
    }
  });

  it('hands the socket exactly the checked addresses, for one or all families', async () => {
    const resolve: Resolver = async () => [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }];
    const lookup = guardedLookup(resolve);
    const one = await new Promise((ok) => lookup('x.test', { family: 6 }, (err, address, family) => ok({ err, address, family })));
    expect(one).toEqual({ err: null, address: '2606:2800:220:1::1', family: 6 });
    const all = await new Promise((ok) => lookup('x.test', { all: true }, (err, address) => ok({ err, address })));
    expect(all).toEqual({ err: null, address: [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }] });
    const bad = guardedLookup(async () => [{ address: '169.254.169.254', family: 4 }]);
    const refused = await new Promise<NodeJS.ErrnoException | null>((ok) => bad('meta.test', {}, (err) => ok(err)));
    expect(refused?.code).toBe(TARGET_FORBIDDEN);
    expect(refused?.message).toMatch(/cloud metadata/);
  });
});

describe('delivery-time guard with private networks allowed: the cloud platform endpoints stay refused', () => {
  const open = addressPolicy({ allowPrivateNetworks: true });
  const to = (address: string): Resolver => async () => [{ address, family: address.includes(':') ? 6 : 4 }];

  it.each(['168.63.129.16', '::ffff:168.63.129.16', '169.254.169.254', 'fd00:ec2::254'])(
    'refuses a host name that resolves to %s, without connecting', async (address) => {
      const sender = new UndiciWebhookSender({ timeoutMs: 2_000, addresses: open, resolve: to(address) });
      try {
        const result = await post(sender, `http://platform.test:${port}/hook`);
        expect(result).toMatchObject({ kind: 'error', code: 'target_forbidden', detail: expect.stringMatching(new RegExp(`platform\\.test resolves to ${address.replace(/\./g, '\\.')}, a .*cloud`)) });
      } finally {
        await sender.close();
      }
    },
  );

  it('refuses the address itself, without connecting', async () => {
    const sender = new UndiciWebhookSender({ timeoutMs: 2_000, addresses: open });
    try {
      expect(await post(sender, 'http://168.63.129.16/')).toMatchObject({ kind: 'error', code: 'target_forbidden', detail: expect.stringMatching(/Azure WireServer/) });
      expect(await post(sender, 'http://[::ffff:a83f:8110]/')).toMatchObject({ kind: 'error', code: 'target_forbidden' });
    } finally {
      await sender.close();
    }
  });

  it('still delivers to a private receiver, and to an address named in WEBHOOK_ALLOWED_ADDRESSES', async () => {
    const sender = new UndiciWebhookSender({ timeoutMs: 2_000, addresses: open, resolve: to('127.0.0.1') });
    const named = new UndiciWebhookSender({ timeoutMs: 2_000, addresses: addressPolicy({ allowPrivateNetworks: false, allowedAddresses: ['127.0.0.1'] }), resolve: to('127.0.0.1') });
    try {
      expect(await post(sender, `http://receiver.test:${port}/hook`)).toMatchObject({ kind: 'response', status: 200 });
      expect(await post(named, `http://receiver.test:${port}/hook`)).toMatchObject({ kind: 'response', status: 200 });
      expect(await post(named, `http://127.0.0.1:${port}/hook`)).toMatchObject({ kind: 'response', status: 200 });
      expect(receiver.received).toHaveLength(3);
    } finally {
      await sender.close();
      await named.close();
    }
  });
});

describe('bounded answers (private networks allowed for the local receiver)', () => {
  let sender: UndiciWebhookSender;
  beforeAll(() => {
    sender = new UndiciWebhookSender({ timeoutMs: 400, addresses: addressPolicy({ allowPrivateNetworks: true }) });
  });
  afterAll(async () => {
    await sender.close();
  });

  it('cuts off a receiver that hangs at the timeout', async () => {
    receiver.setBehaviour({ hang: true });
    const started = Date.now();
    const result = await post(sender, `${receiver.url}/hook`);
    const took = Date.now() - started;
    expect(result).toMatchObject({ kind: 'error', code: 'timeout', detail: 'no answer within 400 ms' });
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(2_000);
  });

  it('reads an endless body only up to the bound, keeps 1 KiB and drops the connection', async () => {
    receiver.setBehaviour({ hugeBodyBytes: Number.POSITIVE_INFINITY });
    const started = Date.now();
    const result = await post(sender, `${receiver.url}/hook`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result).toMatchObject({ kind: 'response', status: 200 });
    if (result.kind === 'response') expect(result.body).toBe('x'.repeat(1024));
  });

  it('does not follow a redirect', async () => {
    receiver.setBehaviour({ redirectTo: 'http://169.254.169.254/latest/meta-data/', redirectStatus: 302 });
    const result = await post(sender, `${receiver.url}/hook`);
    expect(result).toMatchObject({ kind: 'response', status: 302, location: 'http://169.254.169.254/latest/meta-data/' });
    expect(receiver.received).toHaveLength(1);
  });

  it('reports a refused connection as a network error', async () => {
    const result = await post(sender, 'http://127.0.0.1:1/hook');
    expect(result).toMatchObject({ kind: 'error', code: 'network' });
    if (result.kind === 'error') expect(result.detail).toMatch(/ECONNREFUSED/);
  });
});
