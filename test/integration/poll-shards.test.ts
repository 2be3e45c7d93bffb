/**
 * The sharded poll schedule against a real Redis: a schedule lands in its
 * mailbox's shard (its due time and its trigger job), the overdue count sums
 * the shards, the sweeper re-adds a lost trigger in its shard, and an upgrade
 * from the unsharded layout, or a change of shard count, loses no mailbox.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { QUEUE_EVENTS_KEPT, QueueFactory, type Queue } from '../../src/adapters/queue/bullmq.js';
import { createRedis, type Redis } from '../../src/adapters/redis/redis.js';
import { POLL_QUEUE, PollScheduler, pollJobId, type PollJobData } from '../../src/jobs/polling/scheduler.js';
import { PollShardMigration } from '../../src/jobs/polling/shard-migration.js';
import { createLogger } from '../../src/logging/logger.js';
import { createKeySpace, type KeySpace } from '../../src/store/keys.js';

const logger = createLogger({ level: 'silent' });
const NOW = Date.now();
const mailbox = (n: number): string => `mbx_${n.toString(36).padStart(16, 'q')}`;

let server: SandboxRedis;
let redis: Redis;
const factories: QueueFactory[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = createRedis(server.url, 'command', 'test');
  await redis.connect();
});

afterEach(async () => {
  for (const f of factories.splice(0)) await f.close();
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

interface Layout {
  keys: KeySpace;
  queues: QueueFactory;
  scheduler: PollScheduler;
  migration: PollShardMigration;
  queueOf(shard: number): Queue<PollJobData>;
}

function layout(prefix: string, shards: number, now: () => number = () => NOW): Layout {
  const keys = createKeySpace(prefix, { pollShards: shards });
  const queues = new QueueFactory({ redis: server.url, prefix: keys.queuePrefix, logger, name: 'test' });
  factories.push(queues);
  const queueOf = (shard: number): Queue<PollJobData> => queues.queue<PollJobData>(POLL_QUEUE, undefined, keys.pollQueuePrefix(shard));
  const scheduler = new PollScheduler(redis, keys, queueOf, now);
  const migration = new PollShardMigration({ redis, keys, scheduler, queueAt: (p) => queues.queue(POLL_QUEUE, undefined, p), logger });
  return { keys, queues, scheduler, migration, queueOf };
}

const newPrefix = (): string => `shards-${randomBytes(4).toString('hex')}`;

/** Where each scheduled mailbox is: shard → its job states, for every mailbox. */
async function jobsOf(l: Layout, ids: readonly string[]): Promise<Map<string, { shard: number; due: number | undefined; state: string }>> {
  const found = new Map<string, { shard: number; due: number | undefined; state: string }>();
  for (const id of ids) {
    const shard = l.keys.pollShardOf(id);
    const due = await l.scheduler.dueOf(id);
    const job = due === undefined ? undefined : await l.queueOf(shard).getJob(pollJobId(id, due));
    found.set(id, { shard, due, state: job ? await job.getState() : 'missing' });
  }
  return found;
}

describe('the sharded poll schedule', () => {
  it("puts a mailbox's due time and its trigger in its shard, and nowhere else", async () => {
    const l = layout(newPrefix(), 4);
    const ids = Array.from({ length: 40 }, (_, i) => mailbox(i));
    for (const id of ids) await l.scheduler.schedule(id, NOW + 60_000, 60_000);
    const shardsUsed = new Set(ids.map((id) => l.keys.pollShardOf(id)));
    expect(shardsUsed.size).toBe(4);
    for (const [id, at] of await jobsOf(l, ids)) {
      expect(at, id).toMatchObject({ due: NOW + 60_000, state: 'delayed' });
      for (let other = 0; other < 4; other++) {
        if (other === at.shard) continue;
        expect(await redis.zscore(l.keys.pollDue(other), id)).toBeNull();
        expect(await l.queueOf(other).getJob(pollJobId(id, NOW + 60_000))).toBeUndefined();
      }
    }
    const counts = await l.scheduler.jobCounts('delayed', 'waiting');
    expect(counts).toEqual({ delayed: 40, waiting: 0 });

    // Rescheduling replaces the old trigger in the same shard: one job per mailbox.
    await l.scheduler.schedule(ids[0]!, NOW, 60_000);
    expect((await l.scheduler.jobCounts('delayed', 'waiting'))).toEqual({ delayed: 39, waiting: 1 });
    await l.scheduler.unschedule(ids[1]!);
    expect((await l.scheduler.jobCounts('delayed', 'waiting'))).toEqual({ delayed: 38, waiting: 1 });
  });

  it('reads the interval from the record when the caller does not give it (before the script, not in it)', async () => {
    const l = layout(newPrefix(), 4);
    const id = mailbox(1);
    await redis.set(l.keys.mailbox(id), JSON.stringify({ id, pollIntervalSeconds: 300 }));
    await l.scheduler.schedule(id, NOW + 1_000, 300_000);
    await l.scheduler.overdueCount(); // builds the shard's index
    const shard = l.keys.pollShardOf(id);
    expect(await redis.exists(l.keys.pollOverdueAt(shard))).toBe(1);
    await l.scheduler.schedule(id, NOW - 1_000);
    expect(Number(await redis.zscore(l.keys.pollOverdueAt(shard), id))).toBe(NOW - 1_000 + 300_000);
  });

  it('counts the overdue mailboxes over every shard, and builds a missing shard index from the records', async () => {
    let now = NOW;
    const l = layout(newPrefix(), 8, () => now);
    const ids = Array.from({ length: 30 }, (_, i) => mailbox(100 + i));
    for (const [i, id] of ids.entries()) {
      await redis.set(l.keys.mailbox(id), JSON.stringify({ id, pollIntervalSeconds: i < 10 ? 30 : 600 }));
      await l.scheduler.schedule(id, NOW, i < 10 ? 30_000 : 600_000);
    }
    expect(await l.scheduler.overdueCount()).toBe(0);
    now = NOW + 60_000;
    expect(await l.scheduler.overdueCount()).toBe(10);
    // An upgrade or a lost index: rebuilt from pollDue and the records' intervals.
    for (let shard = 0; shard < 8; shard++) await redis.del(l.keys.pollOverdueAt(shard));
    expect(await l.scheduler.overdueCount()).toBe(10);
    now = NOW + 700_000;
    expect(await l.scheduler.overdueCount()).toBe(30);
  });

  it('sweeps every shard: a lost trigger comes back in its own shard', async () => {
    const l = layout(newPrefix(), 4);
    const ids = Array.from({ length: 12 }, (_, i) => mailbox(200 + i));
    for (const id of ids) await l.scheduler.schedule(id, NOW - 60_000, 60_000);
    // Jobs lost (a crash between the two writes, a Redis hiccup): the schedule alone remains.
    for (let shard = 0; shard < 4; shard++) await l.queueOf(shard).obliterate({ force: true });
    expect(await l.scheduler.sweep(10_000)).toBe(12);
    for (const [id, at] of await jobsOf(l, ids)) expect(at.state, id).toBe('waiting');
    expect(await l.scheduler.sweep(10_000)).toBe(0);
  });
});

describe('moving the schedule between layouts', () => {
  it('takes an unsharded schedule (older versions) into the shards, with its due times and jobs, once', async () => {
    const prefix = newPrefix();
    const l = layout(prefix, 4);
    const legacyQueue = l.queues.queue<PollJobData>(POLL_QUEUE);
    const ids = Array.from({ length: 25 }, (_, i) => mailbox(300 + i));
    for (const [i, id] of ids.entries()) {
      const due = NOW + 60_000 + i * 1000;
      await redis.zadd(l.keys.legacyPoll.due(), String(due), id);
      if (i % 2 === 0) await redis.zadd(l.keys.legacyPoll.overdueAt(), String(due + 120_000), id);
      await legacyQueue.add('poll', { mailboxId: id, due }, { jobId: pollJobId(id, due), delay: 60_000 });
    }
    await redis.zadd(l.keys.legacyPoll.due(), String(NOW), 'not-a-mailbox');
    // Before the move, the overdue count already sees the old index.
    expect(await l.scheduler.overdueCount()).toBe(0);

    expect(await l.migration.run()).toBe(25);
    const moved = await jobsOf(l, ids);
    for (const [i, id] of ids.entries()) expect(moved.get(id), id).toMatchObject({ due: NOW + 60_000 + i * 1000, state: 'delayed' });
    expect(await redis.exists(l.keys.legacyPoll.due(), l.keys.legacyPoll.overdueAt())).toBe(0);
    expect(await legacyQueue.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 0, waiting: 0 });
    expect(await redis.get(l.keys.pollLayout())).toBe('4');
    // The interval the old index knew is kept (due + 120 s), where it existed.
    for (let shard = 0; shard < 4; shard++) await redis.del(l.keys.pollOverdueAt(shard));
    expect(await l.migration.run()).toBe(0);
  });

  it('moves mailboxes whose shard changed when the shard count changes, 4 → 16 → 3, losing none', async () => {
    const prefix = newPrefix();
    const ids = Array.from({ length: 60 }, (_, i) => mailbox(400 + i));
    const four = layout(prefix, 4);
    await four.migration.run();
    for (const [i, id] of ids.entries()) await four.scheduler.schedule(id, NOW + 60_000 + i, 60_000);
    for (const shards of [16, 3]) {
      const next = layout(prefix, shards);
      await next.migration.run();
      const at = await jobsOf(next, ids);
      for (const [i, id] of ids.entries()) expect(at.get(id), `${id} at ${shards} shards`).toMatchObject({ due: NOW + 60_000 + i, state: 'delayed' });
      // Each mailbox's due is in exactly one shard.
      let entries = 0;
      for (let shard = 0; shard < 16; shard++) entries += await redis.zcard(createKeySpace(prefix, { pollShards: 16 }).pollDue(shard));
      expect(entries).toBe(60);
      expect(await redis.get(next.keys.pollLayout())).toBe(String(shards));
    }
  });

  it('keeps a newer due time the new shard already has', async () => {
    const l = layout(newPrefix(), 2);
    const id = mailbox(500);
    await redis.zadd(l.keys.legacyPoll.due(), String(NOW - 5_000), id);
    await l.scheduler.schedule(id, NOW + 30_000, 60_000);
    await l.migration.run();
    expect(await l.scheduler.dueOf(id)).toBe(NOW + 30_000);
  });
});

describe('queue event streams', () => {
  it('keeps about QUEUE_EVENTS_KEPT events per queue, not BullMQ\'s 10,000 (nothing reads them)', async () => {
    const { keys, scheduler, queueOf } = layout(newPrefix(), 1);
    // Each schedule adds a delayed job: an "added" and a "delayed" event in the shard queue's stream.
    for (let n = 0; n < 1_000; n++) await scheduler.schedule(`mbx_${n.toString(36).padStart(16, '0')}`, NOW + 60_000 + n, 60_000);
    const queue = queueOf(0);
    const stream = `${keys.pollQueuePrefix(0)}:${POLL_QUEUE}:events`;
    expect(await queue.count()).toBe(1_000);
    // XTRIM MAXLEN ~ trims whole stream nodes (100 entries each by default): at most a node more.
    const length = await redis.xlen(stream);
    expect(length).toBeGreaterThan(0);
    expect(length).toBeLessThanOrEqual(QUEUE_EVENTS_KEPT + 100);
  });
});
