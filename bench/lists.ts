/**
 * bench/lists: GET /v1/mailboxes pages and GET /v1/mailboxes/summary over
 * 100,000 mailboxes. Self-contained (starts its own Redis), about a minute.
 *
 *   npm run bench:lists
 *   BENCH_MAILBOXES=20000 BENCH_ROUNDS=500 npm run bench:lists
 *
 * The mailboxes are written straight through the mailbox store (the same
 * scripts the API's writes run, so every index is kept), a tenth of them in
 * auth_error; then the app (the production builder) answers, through
 * fastify inject, `BENCH_ROUNDS` requests of each kind one after another.
 * Reported: p50/p99 ms. Goals (issue #20): a page < 20 ms, the summary < 5 ms.
 */
import { performance } from 'node:perf_hooks';
import { startRedis } from '../sandbox/redis.js';
import { mailboxTerms } from '../src/domain/mailboxes/list.js';
import { newId } from '../src/domain/ids.js';
import type { MailboxRecord } from '../src/domain/mailboxes/service.js';
import { JsonStore } from '../src/store/json-store.js';
import { buildTestApp, type TestApp } from '../test/support/app.js';
import { fmt, percentile, printTable } from './support/stats.js';

const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const PARALLEL_WRITES = 200;

interface Answer { id: string; total: number; nextCursor: string | null }

async function call(t: TestApp, method: 'GET' | 'POST', url: string, payload?: object): Promise<{ status: number; json: Answer }> {
  const res = await t.app.inject({ method, url, headers: t.auth, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, json: res.json<Answer>() };
}

/** The mailboxes, written through a store built as wiring/mailboxes.ts builds it. */
async function seed(t: TestApp): Promise<void> {
  const con = await call(t, 'POST', '/v1/connections', {
    name: 'bench', flow: 'app_only', tenantId: 'contoso.onmicrosoft.com',
    clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'Xq38Q~SuperSecretValue.abcdefghij',
  });
  const first = await call(t, 'POST', '/v1/mailboxes', { connectionId: con.json.id, email: 'seed@contoso.example' });
  if (first.status !== 201) throw new Error(`seed mailbox: ${first.status}`);
  const { keys, redis } = t.deps;
  const store = new JsonStore<MailboxRecord>({
    redis, recordKey: keys.mailbox, indexKey: keys.mailboxes,
    groupKey: (m) => keys.connectionMailboxes(m.connectionId),
    uniqueKey: (m) => keys.mailboxAddress(m.connectionId, m.email),
    countBy: { key: keys.mailboxStates, field: 'state' },
    terms: { key: keys.mailboxTerms, builtKey: keys.mailboxTermsBuilt, of: mailboxTerms },
  });
  const template = (await store.get(first.json.id))!;
  const start = Date.now() - MAILBOXES;
  let next = 1;
  const writer = async (): Promise<void> => {
    while (next < MAILBOXES) {
      const i = next++;
      const at = new Date(start + i).toISOString();
      const result = await store.create({
        ...template, id: newId('mbx'), email: `box-${i}@contoso.example`, state: i % 10 === 0 ? 'auth_error' : 'active', createdAt: at, updatedAt: at,
      });
      if (result !== 'created') throw new Error(`seed: ${result}`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_WRITES }, writer));
}

async function measure(t: TestApp, url: string): Promise<[number, number]> {
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const began = performance.now();
    const res = await t.app.inject({ method: 'GET', url, headers: t.auth });
    ms.push(performance.now() - began);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  }
  return [percentile(ms, 50), percentile(ms, 99)];
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const t = await buildTestApp(redis.url, { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' });
  try {
    const seeding = performance.now();
    await seed(t);
    const seeded = (performance.now() - seeding) / 1000;
    const summary = await call(t, 'GET', '/v1/mailboxes/summary');
    if (summary.json.total !== MAILBOXES) throw new Error(`summary total ${summary.json.total}, not ${MAILBOXES}`);
    // The first filtered read checks (and would build) the terms index: not measured.
    const building = performance.now();
    await call(t, 'GET', '/v1/mailboxes?state=auth_error&limit=1');
    const firstFiltered = performance.now() - building;
    // A cursor from the middle of the order.
    let cursor: string | null = null;
    for (let i = 0; i < 5; i++) cursor = (await call(t, 'GET', `/v1/mailboxes?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).json.nextCursor;
    const rows: [string, string][] = [
      ['GET /v1/mailboxes (first page of 100)', '/v1/mailboxes?limit=100'],
      ['GET /v1/mailboxes (page of 100 after 2,500)', `/v1/mailboxes?limit=100&cursor=${cursor}`],
      ['GET /v1/mailboxes?state=auth_error (page of 100)', '/v1/mailboxes?state=auth_error&limit=100'],
      ['GET /v1/mailboxes?state=auth_error (after 2,500)', `/v1/mailboxes?state=auth_error&limit=100&cursor=${cursor}`],
      ['GET /v1/mailboxes/summary', '/v1/mailboxes/summary'],
    ];
    const results: (string | number)[][] = [];
    for (const [name, url] of rows) {
      const [p50, p99] = await measure(t, url);
      results.push([name, fmt(p50, 2), fmt(p99, 2)]);
    }
    const memory = /used_memory:(\d+)/.exec(await t.deps.redis.info('memory'))?.[1];
    printTable(`${MAILBOXES.toLocaleString('en')} mailboxes (a tenth in auth_error), ${ROUNDS} requests each through fastify inject, one at a time; app and Redis share 2 cores`,
      ['request', 'p50 ms', 'p99 ms'], results);
    process.stdout.write(`seeded in ${fmt(seeded, 1)} s through the store; first filtered read ${fmt(firstFiltered, 1)} ms; `
      + `Redis used_memory ${fmt(Number(memory) / MAILBOXES)} bytes/mailbox (records and every index)\n`);
  } finally {
    await t.close();
    await redis.stop();
  }
}

await main();
