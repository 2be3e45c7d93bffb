/**
 * The send store against a real Redis: the messages accepted in one turn of
 * the event loop go to Redis in one transaction (an MSET of the contents,
 * then one script call), bounded by count and bytes, each
 * stored whole with its claim, in acceptance order.
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

function storeFor(prefix = `t${randomBytes(4).toString('hex')}`, contentSeconds = 60) {
  const keys = createKeySpace(prefix);
  return { keys, store: new SendStore(redis, keys.send, createCipher(randomBytes(32)), { contentSeconds, recordSeconds: 120 }) };
}

function newSend(): NewSend {
  return { id: newId('snd'), mailboxId: 'mbx_AAAAAAAAAAAAAAAA', recipients: 1, messageId: '<x@contoso.example>', createdAt: new Date().toISOString() };
}

/** Successful calls of these commands so far. */
async function calls(...commands: string[]): Promise<number> {
  const stats = await redis.info('commandstats');
  const ok = (command: string): number => {
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+),.*failed_calls=(\\d+)`).exec(stats);
    return match ? Number(match[1]) - Number(match[2]) : 0;
  };
  return commands.reduce((sum, command) => sum + ok(command), 0);
}
const scriptCalls = (): Promise<number> => calls('evalsha', 'eval');
const bytes = (text: string): Buffer[] => [Buffer.from(text)];

describe('SendStore.accept', () => {
  it('stores 150 messages accepted at once in three transactions, whole and in order', async () => {
    const { keys, store } = storeFor();
    const sends = Array.from({ length: 150 }, newSend);
    const [scripts, transactions, msets] = [await scriptCalls(), await calls('exec'), await calls('mset')];
    const results = await Promise.all(sends.map((s, i) => store.accept(s, bytes(`content ${i}`))));
    expect(await scriptCalls()).toBe(scripts + 3); // 64 + 64 + 22
    expect(await calls('exec')).toBe(transactions + 3);
    expect(await calls('mset')).toBe(msets + 3); // the contents go by MSET, not through the script
    expect(results.every((r) => r.created)).toBe(true);
    expect(await redis.lrange(keys.send.outbox(), 0, -1)).toEqual(sends.map((s) => s.id));
    expect(await redis.zcard(keys.send.pending())).toBe(150);
    const record = await store.get(sends[77]!.id);
    expect(record).toMatchObject({ id: sends[77]!.id, status: 'queued', attempts: 0, recipients: 1, smtpResponse: null, error: null, rejectedRecipients: [] });
    expect((await store.content(sends[77]!.id))?.toString()).toBe('content 77');
  });

  it('closes a batch at 1 MB of content: large messages go in several calls, none lost', async () => {
    const { store } = storeFor();
    const big = Array.from({ length: 5 }, (_, i) => ({ send: newSend(), content: `${i}`.repeat(400_000) }));
    const before = await scriptCalls();
    await Promise.all(big.map((m) => store.accept(m.send, bytes(m.content))));
    expect(await scriptCalls()).toBe(before + 3); // 2 + 2 + 1 (each envelope is about 400 KB)
    for (const m of big) expect((await store.content(m.send.id))?.toString()).toBe(m.content);
  });

  it('a large message whose Idempotency-Key is already claimed leaves no content behind', async () => {
    const { keys, store } = storeFor();
    const claim = { keyDigest: 'k-large', bodyHash: 'h', ttlSeconds: 60 };
    const [first, second] = [newSend(), newSend()];
    expect(await store.accept(first, [Buffer.alloc(2 * 1024 * 1024, 1)], claim)).toEqual({ created: true });
    expect(await store.accept(second, [Buffer.alloc(2 * 1024 * 1024, 2)], claim)).toMatchObject({ created: false, sendId: first.id });
    expect(await redis.exists(keys.send.content(second.id))).toBe(0);
    expect((await store.content(first.id))!.equals(Buffer.alloc(2 * 1024 * 1024, 1))).toBe(true);
  });

  it('stores a large message in pieces, binary and encrypted: about its own size in Redis, read back whole', async () => {
    const { keys, store } = storeFor();
    // 20 MB in the 64 KB pieces a request body arrives in, beside a small message in the same batch.
    const pieces = Array.from({ length: 320 }, (_, i) => Buffer.alloc(65_536, i));
    const [large, small] = [newSend(), newSend()];
    const [appends, msets] = [await calls('append'), await calls('mset')];
    await Promise.all([store.accept(large, pieces), store.accept(small, bytes('small'))]);
    expect(await calls('append')).toBeGreaterThan(appends + 10);
    expect(await calls('mset')).toBe(msets + 1);
    const stored = await redis.strlen(keys.send.content(large.id));
    expect(stored).toBeLessThan(20 * 1024 * 1024 * 1.01);
    // Written before its batch with an expiry, kept by the accept script.
    expect(await redis.pttl(keys.send.content(large.id))).toBe(-1);
    // Encrypted: none of the plaintext's runs is in Redis.
    const raw = await redis.getrangeBuffer(keys.send.content(large.id), 1_000_000, 1_065_535);
    expect(raw.equals(pieces[15]!)).toBe(false);
    expect((await store.content(large.id))!.equals(Buffer.concat(pieces))).toBe(true);
    expect((await store.content(small.id))?.toString()).toBe('small');
  });

  it('answers a claim made earlier in the same batch and stores nothing for it (its content neither), beside messages without a key', async () => {
    const { keys, store } = storeFor();
    const [a, b, c, d] = [newSend(), newSend(), newSend(), newSend()];
    const claim = { keyDigest: 'k1', bodyHash: 'h1', ttlSeconds: 60 };
    const results = await Promise.all([
      store.accept(a, bytes('a'), claim),
      store.accept(b, bytes('b'), claim),
      store.accept(d, bytes('d')),
      store.accept(c, bytes('c'), { keyDigest: 'k2', bodyHash: 'h2', ttlSeconds: 60 }),
    ]);
    expect(results).toEqual([{ created: true }, { created: false, bodyHash: 'h1', sendId: a.id, status: 'queued' }, { created: true }, { created: true }]);
    expect(await store.get(b.id)).toBeUndefined();
    expect(await redis.exists(keys.send.content(b.id))).toBe(0);
    expect(await redis.lrange(keys.send.outbox(), 0, -1)).toEqual([a.id, d.id, c.id]);
    for (const [send, content] of [[a, 'a'], [c, 'c'], [d, 'd']] as const) {
      expect((await store.content(send.id))?.toString()).toBe(content);
      expect(await store.get(send.id)).toMatchObject({ id: send.id, status: 'queued' });
    }
    expect(await redis.ttl(keys.send.idempotency('k1'))).toBeGreaterThan(50);
  });

  it('stores a batch whole on a Redis that has forgotten its scripts (a restart)', async () => {
    const { keys, store } = storeFor();
    await redis.script('FLUSH');
    const [plain, keyed] = [newSend(), newSend()];
    const results = await Promise.all([store.accept(plain, bytes('plain')), store.accept(keyed, bytes('keyed'), { keyDigest: 'k3', bodyHash: 'h3', ttlSeconds: 60 })]);
    expect(results).toEqual([{ created: true }, { created: true }]);
    expect(await redis.lrange(keys.send.outbox(), 0, -1)).toEqual([plain.id, keyed.id]);
    expect((await store.content(plain.id))?.toString()).toBe('plain');
    expect((await store.content(keyed.id))?.toString()).toBe('keyed');
  });

  it('fails every message of a batch when Redis is unreachable, and each caller hears of it', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'command', 'send-store-down');
    down.on('error', () => undefined);
    try {
      const keys = createKeySpace('down');
      const store = new SendStore(down, keys.send, createCipher(randomBytes(32)), { contentSeconds: 60, recordSeconds: 120 });
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.accept(newSend(), bytes('x'))));
      expect(results.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    } finally {
      down.disconnect();
    }
  });
});

describe('SendStore.finish', () => {
  it('deletes the content at once with no retention, keeps it its retention otherwise, and says when in the record', async () => {
    for (const retention of [0, 60]) {
      const { keys, store } = storeFor(undefined, retention);
      const send = newSend();
      expect(await store.accept(send, bytes('content'))).toEqual({ created: true });
      const now = new Date('2026-12-06T12:00:00Z');
      await store.finish(send.id, { status: 'sent', smtpResponse: '250 OK', error: null, rejectedRecipients: [] }, now);
      const record = await store.get(send.id);
      expect(record?.contentReleasedAt).toBe(new Date(now.getTime() + retention * 1000).toISOString());
      if (retention === 0) expect(await redis.exists(keys.send.content(send.id))).toBe(0);
      else expect(await redis.ttl(keys.send.content(send.id))).toBeGreaterThan(retention - 10);
    }
  });
});

describe('scheduled messages (sendAt)', () => {
  const scheduled = (dueMs: number): NewSend => ({ ...newSend(), sendAt: new Date(dueMs).toISOString(), dueMs });

  it('a scheduled message waits in the scheduled set only (no outbox, no pending entry); its claim answers scheduled', async () => {
    const { keys, store } = storeFor();
    const due = Date.now() + 60_000;
    const [later, now] = [scheduled(due), newSend()];
    const results = await Promise.all([
      store.accept(later, bytes('later'), { keyDigest: 'k', bodyHash: 'h', ttlSeconds: 60 }),
      store.accept(now, bytes('now')),
      store.accept(newSend(), bytes('again'), { keyDigest: 'k', bodyHash: 'h', ttlSeconds: 60 }),
    ]);
    expect(results).toEqual([{ created: true }, { created: true }, { created: false, bodyHash: 'h', sendId: later.id, status: 'scheduled' }]);
    expect(await store.get(later.id)).toMatchObject({ status: 'scheduled', sendAt: new Date(due).toISOString(), attempts: 0 });
    expect(await store.get(now.id)).toMatchObject({ status: 'queued', sendAt: null });
    expect(await redis.lrange(keys.send.outbox(), 0, -1)).toEqual([now.id]);
    expect(await redis.zrange(keys.send.pending(), '0', '-1')).toEqual([now.id]);
    expect(await redis.zrange(keys.send.scheduled(), '0', '-1', 'WITHSCORES')).toEqual([later.id, String(due)]);
    // Not due yet: nothing moves.
    expect(await store.releaseDue(new Date(due - 1), 100)).toEqual([]);
    expect(await store.get(later.id)).toMatchObject({ status: 'scheduled' });
  });

  it('releasing the due ones from many callers at once moves each message exactly once, in order of their time', async () => {
    const { keys, store } = storeFor();
    const base = Date.now() + 60_000;
    const sends = Array.from({ length: 250 }, (_, i) => scheduled(base + (i % 5) * 1_000 + i));
    const notYet = scheduled(base + 3_600_000);
    await Promise.all([...sends, notYet].map((s) => store.accept(s, bytes('x'))));
    // Eight workers sweeping at the same moment, each in batches of 40.
    const release = async (): Promise<string[]> => {
      const moved: string[] = [];
      for (;;) {
        const ids = await store.releaseDue(new Date(base + 10_000), 40);
        moved.push(...ids);
        if (ids.length < 40) return moved;
      }
    };
    const moved = (await Promise.all(Array.from({ length: 8 }, release))).flat();
    expect(moved.sort()).toEqual(sends.map((s) => s.id).sort());
    const outbox = await redis.lrange(keys.send.outbox(), 0, -1);
    expect(outbox.sort()).toEqual(sends.map((s) => s.id).sort());
    expect(await redis.zrange(keys.send.scheduled(), '0', '-1')).toEqual([notYet.id]);
    expect(await redis.zcard(keys.send.pending())).toBe(250);
    // Pending by their due time, so the lost-job sweeper sees them as due from then.
    expect(Number(await redis.zscore(keys.send.pending(), sends[7]!.id))).toBe(sends[7]!.dueMs);
    for (const s of sends.slice(0, 10)) expect(await store.get(s.id)).toMatchObject({ status: 'queued' });
    expect(await store.get(notYet.id)).toMatchObject({ status: 'scheduled' });
  });

  it('cancel: scheduled or queued → canceled (content deleted, out of every index, record kept); not once begun', async () => {
    const { keys, store } = storeFor();
    const [later, queued, begun] = [scheduled(Date.now() + 60_000), newSend(), newSend()];
    await Promise.all([store.accept(later, bytes('later')), store.accept(queued, bytes('queued')), store.accept(begun, bytes('begun'))]);
    await store.begin(begun.id, new Date());

    const canceled = await store.cancel(later.id, new Date());
    expect(canceled).toMatchObject({ id: later.id, status: 'canceled', attempts: 0 });
    expect(await redis.zscore(keys.send.scheduled(), later.id)).toBeNull();
    expect(await store.content(later.id)).toBeUndefined();
    expect(await redis.ttl(keys.send.record(later.id))).toBeGreaterThan(100);
    // Canceled twice: the same answer; released after its time: stays canceled, never queued.
    expect(await store.cancel(later.id, new Date())).toMatchObject({ status: 'canceled' });
    await redis.zadd(keys.send.scheduled(), 0, later.id);
    expect(await store.releaseDue(new Date(), 100)).toEqual([]);
    expect(await redis.zcard(keys.send.scheduled())).toBe(0);

    expect(await store.cancel(queued.id, new Date())).toMatchObject({ status: 'canceled' });
    expect(await redis.zscore(keys.send.pending(), queued.id)).toBeNull();
    expect(await store.content(queued.id)).toBeUndefined();
    // Its outbox entry is left; the attempt its job would start is refused.
    expect(await store.begin(queued.id, new Date())).toMatchObject({ status: 'canceled', attempts: 0 });

    expect(await store.cancel(begun.id, new Date())).toMatchObject({ status: 'sending', attempts: 1 });
    expect((await store.content(begun.id))?.toString()).toBe('begun');
    expect(await store.cancel(newId('snd'), new Date())).toBeUndefined();
  });
});

