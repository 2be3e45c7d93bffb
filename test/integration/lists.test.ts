/**
 * Lists that page (api.md, Mailboxes): GET /v1/mailboxes filtered by connection, state and
 * address, and GET /v1/connections and /v1/webhooks, a page at a time with an opaque cursor.
 * A walk sees each record that lives through it once while others come and go; filters read
 * the terms index, which is built for mailboxes written before it existed (an upgrade).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { buildTestApp, type TestApp } from '../support/app.js';

const redis = useRedis();
const t = useTestApp({}, redis);

interface Page<T = { id: string; email: string; state: string; connectionId: string }> {
  items: T[];
  nextCursor: string | null;
}

async function connection(app: TestApp = t): Promise<string> {
  const res = await app.app.inject({
    method: 'POST', url: '/v1/connections', headers: app.auth,
    payload: {
      name: 'lists', flow: 'app_only', tenantId: 'contoso.onmicrosoft.com',
      clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'Xq38Q~SuperSecretValue.abcdefghij',
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function mailbox(connectionId: string, email: string, app: TestApp = t): Promise<string> {
  const res = await app.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: app.auth, payload: { connectionId, email } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function get<T = Page>(url: string, app: TestApp = t): Promise<T> {
  const res = await app.app.inject({ method: 'GET', url, headers: app.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as T;
}

/** Every page of a list, calling `between` after each page; the ids in the order seen. */
async function walk(url: string, limit: number, between?: (page: number) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < 1000; n++) {
    const sep = url.includes('?') ? '&' : '?';
    const page: Page = await get(`${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items.map((item) => item.id));
    if (page.nextCursor === null) return seen;
    cursor = page.nextCursor;
    await between?.(n);
  }
  throw new Error('the walk did not end');
}

async function pause(id: string): Promise<void> {
  const res = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
}

describe('GET /v1/mailboxes', () => {
  it('pages in creation order, each mailbox once, nextCursor null on the last page', async () => {
    const con = await connection();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await mailbox(con, `order-${i}@contoso.example`));
    expect(await walk(`/v1/mailboxes?connectionId=${con}`, 3)).toEqual(ids);
    expect(await walk(`/v1/mailboxes?connectionId=${con}`, 7)).toEqual(ids);
    const all = await walk('/v1/mailboxes', 2);
    expect(all.filter((id) => ids.includes(id))).toEqual(ids);
    expect(new Set(all).size).toBe(all.length);
  });

  it('answers 100 by default and at most 500', async () => {
    const first = await get('/v1/mailboxes');
    expect(first).toHaveProperty('nextCursor');
    for (const limit of [0, 501, -1]) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/mailboxes?limit=${limit}`, headers: t.auth });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: '/querystring/limit' }] });
    }
  });

  it('sees each mailbox that lives through a walk once while others are added and removed', async () => {
    const con = await connection();
    const kept: string[] = [];
    const removed: string[] = [];
    for (let i = 0; i < 10; i++) {
      const id = await mailbox(con, `walk-${i}@contoso.example`);
      (i % 3 === 1 ? removed : kept).push(id);
    }
    const added: string[] = [];
    const seen = await walk(`/v1/mailboxes?connectionId=${con}`, 2, async (page) => {
      added.push(await mailbox(con, `walk-added-${page}@contoso.example`));
      const gone = removed.shift();
      if (gone) expect((await t.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${gone}`, headers: t.auth })).statusCode).toBe(204);
    });
    expect(new Set(seen).size, 'no mailbox twice').toBe(seen.length);
    for (const id of kept) expect(seen).toContain(id);
    // Added at the end of the order, after the walk's position: each one is reached.
    for (const id of added.slice(0, -1)) expect(seen).toContain(id);
  });

  it('filters by state, connection, both, and address (exact, case-insensitive), following changes', async () => {
    const a = await connection();
    const b = await connection();
    const a1 = await mailbox(a, 'one@contoso.example');
    const a2 = await mailbox(a, 'two@contoso.example');
    const b1 = await mailbox(b, 'One@Contoso.example');
    await pause(a2);
    const ids = async (query: string): Promise<string[]> => (await get(`/v1/mailboxes?${query}`)).items.map((m) => m.id);

    expect(await ids(`connectionId=${a}`)).toEqual([a1, a2]);
    expect(await ids(`connectionId=${a}&state=paused`)).toEqual([a2]);
    expect(await ids(`connectionId=${a}&state=active`)).toEqual([a1]);
    expect(await ids(`connectionId=${b}&state=paused`)).toEqual([]);
    expect(await ids('state=paused')).toContain(a2);
    expect(await ids('state=paused')).not.toContain(a1);
    expect(await ids('email=ONE@contoso.EXAMPLE')).toEqual([a1, b1]);
    expect(await ids(`email=one@contoso.example&connectionId=${b}`)).toEqual([b1]);
    expect(await ids('email=one@contoso.example&state=paused')).toEqual([]);
    expect(await ids('email=nobody@contoso.example')).toEqual([]);

    // A change of state moves the mailbox between the filters; a deleted one leaves them.
    await pause(a1);
    expect(await ids(`connectionId=${a}&state=paused`)).toEqual([a1, a2]);
    expect(await ids(`connectionId=${a}&state=active`)).toEqual([]);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${a1}`, headers: t.auth })).statusCode).toBe(204);
    expect(await ids(`connectionId=${a}`)).toEqual([a2]);
    expect(await ids('email=one@contoso.example')).toEqual([b1]);
    expect(await ids('state=paused')).not.toContain(a1);
  });

  it('pages a filter with the same cursor', async () => {
    const con = await connection();
    const paused: string[] = [];
    for (let i = 0; i < 9; i++) {
      const id = await mailbox(con, `filter-page-${i}@contoso.example`);
      if (i % 2 === 0) {
        await pause(id);
        paused.push(id);
      }
    }
    expect(await walk(`/v1/mailboxes?connectionId=${con}&state=paused`, 2)).toEqual(paused);
  });

  it('refuses unknown query parameters, a malformed cursor and bad filters with 400 validation_failed', async () => {
    const cases: [string, string][] = [
      ['/v1/mailboxes?status=active', '/querystring/status'],
      ['/v1/mailboxes?state=sleeping', '/querystring/state'],
      ['/v1/mailboxes?connectionId=con_X:mailboxes', '/querystring/connectionId'],
      ['/v1/mailboxes?email=not-an-address', '/querystring/email'],
      ['/v1/connections?offset=10', '/querystring/offset'],
      ['/v1/webhooks?limit=1000', '/querystring/limit'],
    ];
    for (const [url, field] of cases) {
      const res = await t.app.inject({ method: 'GET', url, headers: t.auth });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ code: 'validation_failed', errors: [{ field }] });
      expect(res.json().errors, url).toHaveLength(1);
    }
    const forged = Buffer.from('12.mbx_../../etc/passwd', 'utf8').toString('base64url');
    for (const url of ['/v1/mailboxes?cursor=not-a-cursor', `/v1/mailboxes?cursor=${forged}`, '/v1/connections?cursor=%20', '/v1/webhooks?cursor=abc']) {
      const res = await t.app.inject({ method: 'GET', url, headers: t.auth });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ code: 'validation_failed', errors: [{ field: '/querystring/cursor' }], hint: expect.stringMatching(/nextCursor/) });
    }
  });
});

/**
 * The order the lists promise: by creation time (ms), and records of the same millisecond by id (as
 * the index and the cursor sort them). Records made one after the other can share a millisecond.
 */
async function inCreationOrder(collection: string, ids: readonly string[]): Promise<string[]> {
  const created = new Map<string, number>();
  for (const id of ids) created.set(id, Date.parse((await get<{ createdAt: string }>(`${collection}/${id}`)).createdAt));
  return [...ids].sort((a, b) => created.get(a)! - created.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
}

describe('GET /v1/connections and /v1/webhooks', () => {
  it('page connections in creation order', async () => {
    const before = await walk('/v1/connections', 500);
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await connection());
    expect(await walk('/v1/connections', 2)).toEqual(await inCreationOrder('/v1/connections', [...before, ...made]));
  });

  it('page webhook subscriptions in creation order', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({
        method: 'POST', url: '/v1/webhooks', headers: t.auth,
        payload: { url: `https://93.184.215.14/hooks/${i}`, events: ['message.sent'] },
      });
      expect(res.statusCode, res.body).toBe(201);
      made.push(res.json().id as string);
    }
    const ordered = await inCreationOrder('/v1/webhooks', made);
    const page = await get('/v1/webhooks?limit=2');
    expect(page.items.map((w) => w.id)).toEqual(ordered.slice(0, 2));
    expect(await walk('/v1/webhooks', 2)).toEqual(ordered);
  });
});

describe('an upgrade', () => {
  it('indexes mailboxes written before the terms index existed, on the first filtered page', async () => {
    const env = { REDIS_PREFIX: `upgrade-${randomBytes(4).toString('hex')}`, ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const before = await buildTestApp(redis.url, env);
    let con: string;
    const ids: string[] = [];
    try {
      con = await connection(before);
      for (let i = 0; i < 5; i++) ids.push(await mailbox(con, `old-${i}@contoso.example`, before));
      const res = await before.app.inject({ method: 'POST', url: `/v1/mailboxes/${ids[1]}/pause`, headers: before.auth });
      expect(res.statusCode).toBe(200);
      // What a release without the index left in Redis: the records and their other indexes, no terms.
      const { keys, redis: client } = before.deps;
      expect(await client.del(keys.mailboxTerms(), keys.mailboxTermsBuilt())).toBeGreaterThan(0);
    } finally {
      await before.close();
    }

    const after = await buildTestApp(redis.url, env);
    try {
      // A mailbox added after the upgrade, before the first filtered read, is listed once too.
      const late = await mailbox(con, 'late@contoso.example', after);
      const ids2 = async (query: string): Promise<string[]> => (await get(`/v1/mailboxes?${query}`, after)).items.map((m) => m.id);
      expect(await ids2(`connectionId=${con}`)).toEqual([...ids, late]);
      expect(await ids2(`connectionId=${con}&state=paused`)).toEqual([ids[1]]);
      expect(await ids2('state=active')).toEqual([ids[0], ids[2], ids[3], ids[4], late]);
      expect(await ids2('email=OLD-3@contoso.example')).toEqual([ids[3]]);
      expect(await after.deps.redis.get(after.deps.keys.mailboxTermsBuilt())).toBe('1');
    } finally {
      await after.close();
    }
  });
});

describe('routes that take no query string', () => {
  it('refuse an unknown parameter instead of ignoring it', async () => {
    for (const url of ['/v1/mailboxes/summary?state=active', '/v1/connections/con_AAAAAAAAAAAAAAAA?verbose=1']) {
      const res = await t.app.inject({ method: 'GET', url, headers: t.auth });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ code: 'validation_failed', errors: [{ field: expect.stringMatching(/^\/querystring\/(state|verbose)$/) }] });
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/mailboxes/summary', headers: t.auth })).statusCode).toBe(200);
  });
});
