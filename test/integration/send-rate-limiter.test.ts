/** The per-mailbox sliding windows (messages and recipients) against a real Redis, on a clock the test moves. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '../../src/adapters/redis/redis.js';
import { createKeySpace } from '../../src/store/keys.js';
import { SendRateLimiter, type SendRateLimits } from '../../src/store/send-rate-limiter.js';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';

let server: SandboxRedis;
let redis: Redis;
let clock = 1_000_000;
let prefixes = 0;
/** Mailbox ids: the rate keys take only ids of their shape. */
const M = 'mbx_AAAAAAAAAAAAAAAA';
const OTHER = 'mbx_BBBBBBBBBBBBBBBB';

function limiter(limits: Partial<SendRateLimits>): SendRateLimiter {
  const keys = createKeySpace(`rate-${++prefixes}`).send;
  return new SendRateLimiter(redis, keys, { messages: 0, messagesWindowMs: 1_000, recipients: 0, recipientsWindowMs: 10_000, ...limits }, () => clock);
}

beforeAll(async () => {
  server = await startRedis();
  redis = createRedis(server.url, 'command', 'test');
  await redis.connect();
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('messages window', () => {
  it('admits `messages` per window, then says when the oldest slot frees', async () => {
    const l = limiter({ messages: 3 });
    clock = 1_000_000;
    expect(await l.reserve(M, 's1', 1)).toBe(0);
    clock += 100;
    expect(await l.reserve(M, 's2', 1)).toBe(0);
    expect(await l.reserve(M, 's3', 1)).toBe(0);
    clock += 200;
    expect(await l.reserve(M, 's4', 1)).toBe(700);
    // A retry of a message inside the window keeps its slot.
    expect(await l.reserve(M, 's2', 1)).toBe(0);
    // Other mailboxes have their own window.
    expect(await l.reserve(OTHER, 's5', 1)).toBe(0);
    clock = 1_000_000 + 1_000;
    expect(await l.reserve(M, 's4', 1)).toBe(0);
    expect(await l.reserve(M, 's6', 1)).toBe(100);
  });
});

describe('recipients window', () => {
  it('admits up to `recipients` per window and waits until enough of them expire', async () => {
    const l = limiter({ recipients: 10, recipientsWindowMs: 10_000 });
    clock = 5_000_000;
    expect(await l.reserve(M, 'a', 4)).toBe(0);
    clock += 1_000;
    expect(await l.reserve(M, 'b', 4)).toBe(0);
    clock += 1_000;
    expect(await l.reserve(M, 'c', 2)).toBe(0);
    // 10 used: one more needs a's 4 back (at +10 s); five more need a and b (at +11 s).
    expect(await l.reserve(M, 'd', 1)).toBe(8_000);
    expect(await l.reserve(M, 'e', 5)).toBe(9_000);
    expect(await l.reserve(M, 'b', 4)).toBe(0);
    clock = 5_000_000 + 10_000;
    expect(await l.reserve(M, 'd', 4)).toBe(0);
    expect(await l.reserve(M, 'e', 1)).toBe(1_000);
  });

  it('both windows at once: nothing is taken from one when the other is full', async () => {
    const l = limiter({ messages: 5, recipients: 3, recipientsWindowMs: 10_000 });
    clock = 9_000_000;
    expect(await l.reserve(M, 'a', 3)).toBe(0);
    expect(await l.reserve(M, 'b', 1)).toBe(10_000);
    const keys = createKeySpace(`rate-${prefixes}`).send;
    expect(await redis.zcard(keys.rateMessages(M))).toBe(1);
  });

  it('no limits: always 0, without touching Redis', async () => {
    const l = limiter({});
    expect(l.enabled).toBe(false);
    expect(await l.reserve(M, 'a', 1_000_000)).toBe(0);
  });
});
