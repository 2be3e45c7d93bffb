/**
 * Rate limits of the routes without an API key, counted in a real Redis and
 * shared by two API processes (two apps on one Redis): per client (an IPv4
 * address or an IPv6 /64) on both public routes, and valid sign-in starts in all.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_DELEGATED, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { createRedis, type Redis } from '../../src/adapters/redis/redis.js';
import { signInStartBudget } from '../../src/domain/oauth/start-budget.js';
import { publicRateLimit } from '../../src/http/plugins/public-rate-limit.js';
import { createLogger } from '../../src/logging/logger.js';
import { RedisRateLimiter } from '../../src/store/rate-limiter.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { captureLogs } from '../support/logs.js';

let sandbox: Sandbox;
let a: TestApp;
let b: TestApp;
let redis: Redis;
let connectionId: string;
const prefix = `rl-${randomBytes(4).toString('hex')}`;

const encryptionKey = randomBytes(32).toString('base64');
const env = () => ({
  ...sandbox.serviceEnv(), REDIS_PREFIX: prefix, ENCRYPTION_KEY: encryptionKey,
  PUBLIC_RATE_LIMIT_PER_MINUTE: '5', SIGN_IN_STARTS_PER_MINUTE: '3', TRUST_PROXY: '127.0.0.1',
  LOGIN_RETURN_TO_ALLOWLIST: 'https://app.example.com',
});
let connectionBody: Record<string, unknown>;

beforeAll(async () => {
  sandbox = await startSandbox();
  a = await buildTestApp(sandbox.redis.url, env());
  b = await buildTestApp(sandbox.redis.url, env());
  redis = createRedis(sandbox.redis.url, 'command', 'rate-limits-test');
  await redis.connect();
  connectionBody = { name: 'login', flow: 'delegated', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_DELEGATED.clientId, clientSecret: SANDBOX_DELEGATED.secret, authorityHost: sandbox.identity.url };
  const res = await a.app.inject({ method: 'POST', url: '/v1/connections', headers: a.auth, payload: connectionBody });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().id;
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await a?.close();
  await b?.close();
  await sandbox?.stop();
});

const callback = (app: TestApp, remoteAddress: string, headers: Record<string, string> = {}) =>
  app.app.inject({ method: 'GET', url: '/v1/oauth/callback?state=x&code=y', remoteAddress, headers });
const login = (app: TestApp, remoteAddress: string, returnTo = 'https://app.example.com/done', id = connectionId) =>
  app.app.inject({ method: 'GET', url: `/v1/connections/${id}/login?returnTo=${encodeURIComponent(returnTo)}`, remoteAddress });

describe('public routes', () => {
  // The limits count per clock minute: a test that straddled a minute's end would start over half-way.
  beforeEach(async () => {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 5_000) await new Promise((r) => setTimeout(r, left + 50));
  });

  it('allow one address 5 requests a minute across both processes, then answer a 429 page with Retry-After', async () => {
    const address = '198.51.100.7';
    const answers = [];
    for (const app of [a, b, a, b, a]) answers.push((await callback(app, address)).statusCode);
    expect(answers).not.toContain(429);
    const refused = await callback(b, address);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.body).toContain('Too many requests');
    // All five fell in this minute, so one more fits once the next minute is a fifth gone
    // (5 × 4/5 + 1 = 5): the rest of this minute plus 12 s, which can exceed 60.
    const expected = (60_000 - (Date.now() % 60_000) + 12_000) / 1000;
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(Math.floor(expected) - 1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    // Another address is not held back.
    expect((await callback(a, '198.51.100.8')).statusCode).not.toBe(429);
  });

  it('count a trusted proxy\'s X-Forwarded-For client, and ignore the header from anyone else', async () => {
    for (let i = 0; i < 5; i++) await callback(a, '127.0.0.1', { 'x-forwarded-for': '203.0.113.9' });
    expect((await callback(a, '127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })).statusCode).toBe(429);
    // The proxy's other clients are separate.
    expect((await callback(a, '127.0.0.1', { 'x-forwarded-for': '203.0.113.10' })).statusCode).not.toBe(429);
    // An untrusted peer cannot pick its address: its own is counted, whatever it claims.
    for (let i = 0; i < 5; i++) await callback(a, '198.51.100.20', { 'x-forwarded-for': `203.0.113.${100 + i}` });
    expect((await callback(a, '198.51.100.20', { 'x-forwarded-for': '203.0.113.200' })).statusCode).toBe(429);
  });

  it('start at most 3 sign-ins a minute in all, and store nothing for a refused one', async () => {
    const states = async () => (await redis.keys(`${prefix}:oauth-state:*`)).length;
    const before = await states();
    const answers = [];
    for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']) answers.push((await login(address === '192.0.2.2' ? b : a, address)).statusCode);
    expect(answers).toEqual([302, 302, 302, 429]);
    expect(await states()).toBe(before + 3);
  });

  it('count only valid sign-in starts: refused returnTo values and unknown connections spend nothing of the budget', async () => {
    // A process of its own (own Redis prefix), so the starts of the test above do not weigh in.
    const own = await buildTestApp(sandbox.redis.url, { ...env(), REDIS_PREFIX: `${prefix}-starts` });
    try {
      const made = await own.app.inject({ method: 'POST', url: '/v1/connections', headers: own.auth, payload: connectionBody });
      const id = made.json().id as string;
      const refused = [];
      for (let i = 0; i < 4; i++) refused.push((await login(own, `192.0.2.${10 + i}`, 'https://evil.example/steal', id)).statusCode);
      for (let i = 0; i < 4; i++) refused.push((await login(own, `192.0.2.${20 + i}`, 'https://app.example.com/done', 'con_AAAAAAAAAAAAAAAA')).statusCode);
      expect(refused).toEqual([400, 400, 400, 400, 404, 404, 404, 404]);
      const valid = [];
      for (let i = 0; i < 4; i++) valid.push((await login(own, `192.0.2.${30 + i}`, 'https://app.example.com/done', id)).statusCode);
      expect(valid).toEqual([302, 302, 302, 429]);
    } finally {
      await own.close();
    }
  });

  it('count an IPv6 client by its /64, and an IPv4-mapped address as the IPv4 client', async () => {
    const answers = [];
    for (const address of ['2001:db8:7:7::1', '2001:db8:7:7::2', '2001:db8:7:7:a:b:c:d', '2001:DB8:7:7:ffff:ffff:ffff:fffe', '2001:0db8:0007:0007::5']) {
      answers.push((await callback(a, address)).statusCode);
    }
    expect(answers).not.toContain(429);
    // Another address of the same /64, through the other process: the sixth request of that client.
    expect((await callback(b, '2001:db8:7:7:1234::99')).statusCode).toBe(429);
    // The next /64 is another client.
    expect((await callback(a, '2001:db8:7:8::1')).statusCode).not.toBe(429);

    for (let i = 0; i < 5; i++) await callback(a, '198.51.100.77');
    expect((await callback(b, '::ffff:198.51.100.77')).statusCode).toBe(429);
  });
});

describe('RedisRateLimiter', () => {
  it('holds any window-long span to the limit (a fixed window let twice through across its edge), per subject', async () => {
    let now = 1_000_000; // the start of a 1 s window
    const limiter = new RedisRateLimiter(redis, (name) => `${prefix}:unit:${name}`, () => now);
    const verdicts = [];
    for (let i = 0; i < 3; i++) verdicts.push(await limiter.hit('t', 'x', 2, 1_000));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, false]);
    // Next window, 500 ms in: 2 × (1 - 0.5) + 1 = 2 fits.
    expect(verdicts[2]!.retryAfterMs).toBe(1_500);
    expect((await limiter.hit('t', 'y', 2, 1_000)).allowed).toBe(true);
    now += 1_000; // the next window's first moment: the previous one still weighs in full
    expect((await limiter.hit('t', 'x', 2, 1_000)).allowed).toBe(false);
    now += 400;
    expect((await limiter.hit('t', 'x', 2, 1_000)).allowed).toBe(false);
    now += 100;
    expect((await limiter.hit('t', 'x', 2, 1_000)).allowed).toBe(true);
    // Refused requests were not counted: this window holds the one allowed.
    expect(await redis.get(`${prefix}:unit:{t:x}:1001000`)).toBe('1');
    const ttl = await redis.pttl(`${prefix}:unit:{t:x}:1001000`);
    expect(ttl).toBeGreaterThan(1_000);
    expect(ttl).toBeLessThanOrEqual(2_000);
  });

  it('lets requests through, and says so in the log, when Redis cannot be asked', async () => {
    const logs = captureLogs();
    const logger = createLogger({ level: 'info' }, logs.stream);
    const down = { hit: () => Promise.reject(new Error('Connection is closed.')) };
    const hook = publicRateLimit(down, { perClientPerMinute: 1 }, logger);
    const request = { ip: '198.51.100.1', routeOptions: { url: '/v1/connections/:id/login' }, log: { info: () => undefined }, id: 'r' };
    await expect(hook(request as never, {} as never)).resolves.toBeUndefined();
    await expect(signInStartBudget(down, 1, logger)!()).resolves.toBeUndefined();
    expect(logs.text().match(/rate limit not checked/g)).toHaveLength(2);
  });
});
