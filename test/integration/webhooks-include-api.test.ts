/**
 * POST /v1/webhooks `include`: stored and shown, and hostile values refused with a 400 problem
 * (never a 500, never stored).
 */
import { describe, expect, it } from 'vitest';
import { useRedis, useTestApp } from '../support/fixtures.js';

// A public address literal: creation needs no DNS, and no delivery is attempted (no worker runs here).
const PUBLIC_URL = 'https://93.184.216.34/hooks/mailsync';

const redis = useRedis();
const t = useTestApp({}, redis);

const create = (body: string | object) => t.app.inject({
  method: 'POST', url: '/v1/webhooks', headers: { ...t.auth, 'content-type': 'application/json' },
  payload: typeof body === 'string' ? body : JSON.stringify(body),
});

const count = async (): Promise<number> => (await t.app.inject({ method: 'GET', url: '/v1/webhooks', headers: t.auth })).json().items.length;

describe('include', () => {
  it('is stored as given and shown by GET; a subscription without it shows an empty list', async () => {
    const created = await create({ url: PUBLIC_URL, events: ['message.received'], include: ['text', 'attachments'] });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().include).toEqual(['text', 'attachments']);
    const got = await t.app.inject({ method: 'GET', url: `/v1/webhooks/${created.json().id}`, headers: t.auth });
    expect(got.json().include).toEqual(['text', 'attachments']);

    const plain = await create({ url: PUBLIC_URL, events: ['message.received'] });
    expect(plain.json().include).toEqual([]);
    const empty = await create({ url: PUBLIC_URL, events: ['message.received'], include: [] });
    expect(empty.statusCode).toBe(201);
    expect(empty.json().include).toEqual([]);
    // Every part at once.
    const all = await create({ url: PUBLIC_URL, events: ['message.received'], include: ['text', 'html', 'headers', 'attachments'] });
    expect(all.statusCode).toBe(201);
  });

  it.each([
    ['an unknown part', ['text', 'body']],
    ['a part in another case', ['TEXT']],
    ['a duplicate', ['text', 'text']],
    ['a string instead of a list', 'text'],
    ['an object', { text: true }],
    ['null', null],
    ['a number', 1],
    ['a nested list', [['text']]],
    ['an empty name', ['']],
    ['a huge list', Array.from({ length: 10_000 }, (_, i) => (i % 2 ? 'text' : 'html'))],
    ['five parts (one repeated)', ['text', 'html', 'headers', 'attachments', 'text']],
    ['a prototype key', ['__proto__']],
  ])('refuses %s with 400', async (_what, include) => {
    const before = await count();
    const res = await create({ url: PUBLIC_URL, events: ['message.received'], include });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('validation_failed');
    expect(await count()).toBe(before);
  });
});
