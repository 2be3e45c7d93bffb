/**
 * The send store against a real Redis: the messages accepted in one turn of
 * the event loop go to Redis in one script call, bounded by count and bytes,
 * each stored whole with its claim, in acceptance order.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { createRedis, type Redis } from '../../src/adapters/redis/redis.js';
import { createCipher } from '../../src/crypto/envelope.js';
import { newId } from '../../src/domain/ids.js';
import { createKeySpace } from '../../src/store/keys.js';
import { SendStore, type NewSend } from '../../src/store/send-store.js';

let sandbox: SandboxRedis;
let redis: Redis;

beforeAll(async () => {
  // A private server: the script-call counts below are its own.
  sandbox = await startRedis({ kind: 'process' });
  redis = createRedis(sandbox.url, 'command', 'send-store-test');
  await redis.connect();
});
afterAll(async () => {
  redis?.disconnect();
  await sandbox?.stop();
});

function storeFor(prefix = `t${randomBytes(4).toString('hex')}`) {
  const keys = createKeySpace(prefix);
  return { keys, store: new SendStore(redis, keys.send, createCipher(randomBytes(32)), { contentSeconds: 60, recordSeconds: 120 }) };
}

function newSend(): NewSend {
  return { id: newId('snd'), mailboxId: 'mbx_AAAAAAAAAAAAAAAA', recipients: 1, messageId: '<x@contoso.example>', createdAt: new Date().toISOString() };
}

async function scriptCalls(): Promise<number> {
  // Successful calls only: the first call of a script after a restart is a NOSCRIPT, then an EVAL.
  const stats = await redis.info('commandstats');
  const ok = (command: string): number => {
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+),.*failed_calls=(\\d+)`).exec(stats);
    return match ? Number(match[1]) - Number(match[2]) : 0;
  };
  return ok('evalsha') + ok('eval');
}

describe('SendStore.accept', () => {
  it('stores 150 messages accepted at once in three script calls, whole and in order', async () => {
    const { keys, store } = storeFor();
    const sends = Array.from({ length: 150 }, newSend);
    const before = await scriptCalls();
    const results = await Promise.all(sends.map((s, i) => store.accept(s, `content ${i}`)));
    expect(await scriptCalls()).toBe(before + 3); // 64 + 64 + 22
    expect(results.every((r) => r.created)).toBe(true);
    expect(await redis.lrange(keys.send.outbox(), 0, -1)).toEqual(sends.map((s) => s.id));
    expect(await redis.zcard(keys.send.pending())).toBe(150);
    const record = await store.get(sends[77]!.id);
    expect(record).toMatchObject({ id: sends[77]!.id, status: 'queued', attempts: 0, recipients: 1, smtpResponse: null, error: null, rejectedRecipients: [] });
    expect((await store.content(sends[77]!.id))?.toString()).toBe('content 77');
  });

  it('closes a batch at 1 MB of content: large messages go in several calls, none lost', async () => {
    const { store } = storeFor();
    const big = Array.from({ length: 5 }, (_, i) => ({ send: newSend(), content: `${i}`.repeat(300_000) }));
    const before = await scriptCalls();
    await Promise.all(big.map((m) => store.accept(m.send, m.content)));
    expect(await scriptCalls()).toBe(before + 3); // 2 + 2 + 1 (each envelope is about 400 KB)
    for (const m of big) expect((await store.content(m.send.id))?.toString()).toBe(m.content);
  });

  it('answers a claim made earlier in the same batch, and stores nothing for it', async () => {
    const { keys, store } = storeFor();
    const [a, b, c] = [newSend(), newSend(), newSend()];
    const claim = { keyDigest: 'k1', bodyHash: 'h1', ttlSeconds: 60 };
    const results = await Promise.all([
      store.accept(a, 'a', claim),
      store.accept(b, 'b', claim),
      store.accept(c, 'c', { keyDigest: 'k2', bodyHash: 'h2', ttlSeconds: 60 }),
    ]);
    expect(results).toEqual([{ created: true }, { created: false, bodyHash: 'h1', sendId: a.id }, { created: true }]);
    expect(await store.get(b.id)).toBeUndefined();
    expect(await redis.lrange(keys.send.outbox(), 0, -1)).toEqual([a.id, c.id]);
    expect(await redis.ttl(keys.send.idempotency('k1'))).toBeGreaterThan(50);
  });

  it('refuses an id already taken without touching the record, and stores the rest of the batch', async () => {
    const { store } = storeFor();
    const first = newSend();
    await store.accept(first, 'first');
    const [again, other] = await Promise.allSettled([store.accept({ ...first, mailboxId: 'mbx_BBBBBBBBBBBBBBBB' }, 'again'), store.accept(newSend(), 'other')]);
    expect(again.status).toBe('rejected');
    expect(other).toMatchObject({ status: 'fulfilled', value: { created: true } });
    expect((await store.get(first.id))?.mailboxId).toBe('mbx_AAAAAAAAAAAAAAAA');
    expect((await store.content(first.id))?.toString()).toBe('first');
  });

  it('fails every message of a batch when Redis is unreachable, and each caller hears of it', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'command', 'send-store-down');
    down.on('error', () => undefined);
    try {
      const keys = createKeySpace('down');
      const store = new SendStore(down, keys.send, createCipher(randomBytes(32)), { contentSeconds: 60, recordSeconds: 120 });
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.accept(newSend(), 'x')));
      expect(results.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    } finally {
      down.disconnect();
    }
  });
});
