/** How full Redis is: INFO memory read, shared briefly, judged by readiness and shown as gauges. */
import { ReplyError } from 'ioredis';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseInfoMemory, RedisMemoryReader } from '../../src/adapters/redis/memory.js';
import type { Redis } from '../../src/adapters/redis/redis.js';
import { redisMemoryRefresher } from '../../src/observability/redis-memory.js';
import { redisMemoryReadiness } from '../../src/roles/redis-memory-readiness.js';

const MIB = 1024 * 1024;
const info = (used: number, max: number, notCounted = 0): string =>
  `# Memory\r\nused_memory:${used}\r\nused_memory_human:x\r\nmaxmemory:${max}\r\nmaxmemory_human:y\r\nmaxmemory_policy:noeviction\r\nmem_not_counted_for_evict:${notCounted}\r\n`;

/** A Redis answering INFO with what `answer` says, counting the calls. */
function fakeRedis(answer: () => Promise<string>) {
  const calls = { info: 0 };
  const redis = { info: async () => (calls.info++, answer()) } as unknown as Redis;
  return { redis, calls };
}

describe('Redis memory', () => {
  it('counts used memory as Redis does against maxmemory (less replication and AOF buffers)', () => {
    expect(parseInfoMemory(info(10 * MIB, 20 * MIB, MIB))).toEqual({ usedBytes: 9 * MIB, maxBytes: 20 * MIB });
    expect(parseInfoMemory('# Memory\r\nused_memory:5\r\n')).toEqual({ usedBytes: 5, maxBytes: 0 });
    expect(parseInfoMemory('')).toBeUndefined();
  });

  it('on a Redis Cluster, reports the fullest master by share of its limit, and names it', async () => {
    const node = (port: number, text: string) => ({ options: { host: '10.0.0.1', port }, info: async () => text });
    const nodes = [node(7000, info(50 * MIB, 100 * MIB)), node(7001, info(90 * MIB, 100 * MIB)), node(7002, info(120 * MIB, 200 * MIB))];
    const cluster = { isCluster: true, nodes: () => nodes } as unknown as Redis;
    expect(await new RedisMemoryReader(cluster).read()).toEqual({ usedBytes: 90 * MIB, maxBytes: 100 * MIB, node: '10.0.0.1:7001' });
    nodes[0] = node(7000, info(99 * MIB, 100 * MIB));
    const full = await redisMemoryReadiness(new RedisMemoryReader(cluster)).check();
    expect(full).toEqual({ ok: false, detail: '99.0 MiB used of maxmemory 100.0 MiB (99 %) on 10.0.0.1:7000: free memory in Redis or raise maxmemory' });
  });

  it('readiness fails above 95 % of maxmemory, naming the numbers and the fix; passes without a limit', async () => {
    const check = (text: string) => redisMemoryReadiness(new RedisMemoryReader(fakeRedis(async () => text).redis)).check();
    expect(await check(info(94 * MIB, 100 * MIB))).toEqual({ ok: true });
    const full = await check(info(101 * MIB, 100 * MIB));
    expect(full.ok).toBe(false);
    expect(full.detail).toBe('101.0 MiB used of maxmemory 100.0 MiB (101 %): free memory in Redis or raise maxmemory');
    expect((await check(info(96 * MIB, 100 * MIB))).ok).toBe(false);
    expect(await check(info(500 * MIB, 0))).toEqual({ ok: true });
  });

  it('passes when Redis will not tell (INFO disabled), and fails when Redis does not answer', async () => {
    const disabled = new RedisMemoryReader(fakeRedis(async () => { throw new ReplyError("ERR unknown command 'INFO'"); }).redis);
    expect(await redisMemoryReadiness(disabled).check()).toEqual({ ok: true });
    const down = new RedisMemoryReader(fakeRedis(async () => { throw new Error('Connection is closed.'); }).redis);
    await expect(redisMemoryReadiness(down).check()).rejects.toThrow('Connection is closed.');
  });

  it('one read serves every caller for a second, concurrent callers share it, and a failed read is not kept', async () => {
    let now = 0;
    let fail = false;
    const { redis, calls } = fakeRedis(async () => {
      if (fail) throw new Error('Connection is closed.');
      return info(now, 100);
    });
    const reader = new RedisMemoryReader(redis, { ttlMs: 1_000, now: () => now });
    await Promise.all([reader.read(), reader.read(), reader.read()]);
    expect(calls.info).toBe(1);
    now = 999;
    expect((await reader.read())?.usedBytes).toBe(0);
    expect(calls.info).toBe(1);
    now = 1_000;
    expect((await reader.read())?.usedBytes).toBe(1_000);
    expect(calls.info).toBe(2);
    now = 2_000;
    fail = true;
    await expect(reader.read()).rejects.toThrow();
    fail = false;
    expect((await reader.read())?.usedBytes).toBe(2_000);
    expect(calls.info).toBe(4);
  });

  it('the gauges follow the read, and say NaN (unknown) when it fails', async () => {
    const registers = [new Registry()];
    const used = new Gauge({ name: 'used', help: 'u', registers });
    const max = new Gauge({ name: 'max', help: 'm', registers });
    let answer: () => Promise<string> = async () => info(7 * MIB, 8 * MIB);
    const refresh = redisMemoryRefresher({ reader: new RedisMemoryReader(fakeRedis(() => answer()).redis, { ttlMs: 0 }), used, max });
    await refresh();
    expect([(await used.get()).values[0]?.value, (await max.get()).values[0]?.value]).toEqual([7 * MIB, 8 * MIB]);
    answer = async () => { throw new Error('Connection is closed.'); };
    await refresh();
    expect((await used.get()).values[0]?.value).toBeNaN();
    expect((await max.get()).values[0]?.value).toBeNaN();
  });
});
