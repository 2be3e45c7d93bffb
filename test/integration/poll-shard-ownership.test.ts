/**
 * Poll shard ownership with two real worker processes on one Redis, against
 * the sandbox Dovecot: the shards are split between them, each polls only the
 * mailboxes of its own shards (so each kept IMAP session lives in one
 * process), every mailbox is polled; then one is killed (SIGKILL) and the
 * survivor takes every shard and polls every mailbox.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { createKeySpace } from '../../src/store/keys.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';
import { spawnService, type ServiceProcess } from '../support/service-process.js';

const MAILBOXES = 16;
const SHARDS = 4;
const workers: ServiceProcess[] = [];

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_SHARDS: String(SHARDS) }), () => sandbox.redis);
afterAll(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
});

async function startWorker(): Promise<ServiceProcess> {
  const worker = spawnService({
    ...sandbox.serviceEnv(),
    ROLE: 'worker',
    REDIS_PREFIX: t.config.redis.prefix,
    ENCRYPTION_KEY: t.config.encryption.key.toString('base64'),
    LOG_LEVEL: 'debug',
    POLL_IDLE: 'false',
    POLL_SHARDS: String(SHARDS),
    POLL_SHARD_LOOK_MS: '500',
  });
  workers.push(worker);
  await worker.waitForLog('workers started');
  return worker;
}

interface Poll { mailboxId: string; start: number }
const pollsOf = (w: ServiceProcess): Poll[] => w.logs()
  .filter((l) => l.msg === 'poll finished')
  .map((l) => ({ mailboxId: l.mailboxId as string, start: l.startedAt as number }));
/** The shards a worker owns by its last 'poll shards changed' log, and when it said so. */
const ownedBy = (w: ServiceProcess): { shards: number[]; at: number } | undefined => {
  const last = w.logs().filter((l) => l.msg === 'poll shards changed').at(-1);
  if (!last) return undefined;
  const gained = last.gained as number[];
  const lost = new Set(last.lost as number[]);
  const before = w.logs().filter((l) => l.msg === 'poll shards changed').slice(0, -1)
    .reduce<Set<number>>((owned, l) => {
      for (const s of l.gained as number[]) owned.add(s);
      for (const s of l.lost as number[]) owned.delete(s);
      return owned;
    }, new Set());
  const shards = [...new Set([...before, ...gained])].filter((s) => !lost.has(s)).sort((a, b) => a - b);
  return { shards, at: last.time as number };
};
/** Waits until every mailbox has a poll that started after `since` by one of `by`; answers the first such poll of each. */
async function everyMailboxPolled(ids: readonly string[], by: readonly ServiceProcess[], since: number, what: string): Promise<Map<string, Poll>> {
  return waitUntil(what, () => {
    const first = new Map<string, Poll>();
    for (const p of by.flatMap(pollsOf).filter((x) => x.start > since).sort((a, b) => a.start - b.start)) if (!first.has(p.mailboxId)) first.set(p.mailboxId, p);
    return ids.every((id) => first.has(id)) ? first : undefined;
  }, 60_000);
}

describe('poll shard ownership across worker processes', () => {
  it('splits the shards between two workers, each polling only its own, and the survivor of a kill takes all', async () => {
    const conn = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    const ids: string[] = [];
    for (let i = 0; i < MAILBOXES; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: { connectionId: conn.json().id, email: `shard-${i}@contoso.example`, pollIntervalSeconds: 1, ...sandbox.mailServers() } });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
    }
    const keys = createKeySpace(t.config.redis.prefix, { pollShards: SHARDS });
    const shardOf = new Map(ids.map((id) => [id, keys.pollShardOf(id)]));

    const first = await startWorker();
    const second = await startWorker();
    // Each owns half the shards (the first gave up the second's as soon as it saw it beat).
    const split = await waitUntil('the shards split two and two', () => {
      const a = ownedBy(first);
      const b = ownedBy(second);
      if (!a || !b || a.shards.length !== SHARDS / 2 || b.shards.length !== SHARDS / 2) return undefined;
      return { a, b, at: Math.max(a.at, b.at) };
    }, 30_000);
    expect([...split.a.shards, ...split.b.shards].sort()).toEqual([0, 1, 2, 3]);

    // Every mailbox polled after the split, each by the worker owning its shard only.
    await everyMailboxPolled(ids, [first, second], split.at, 'every mailbox polled after the split');
    const after = (w: ServiceProcess): Poll[] => pollsOf(w).filter((p) => p.start > split.at);
    for (const p of after(first)) expect(split.a.shards, `${p.mailboxId} polled by the first worker`).toContain(shardOf.get(p.mailboxId));
    for (const p of after(second)) expect(split.b.shards, `${p.mailboxId} polled by the second worker`).toContain(shardOf.get(p.mailboxId));
    expect(after(first).length).toBeGreaterThan(0);
    expect(after(second).length).toBeGreaterThan(0);

    // The second is killed: the first takes its shards once its heartbeat is 15 s old, and polls every mailbox.
    const killedAt = Date.now();
    second.child.kill('SIGKILL');
    await second.exited;
    const taken = await everyMailboxPolled(ids, [first], killedAt, 'every mailbox polled by the survivor');
    expect(ownedBy(first)?.shards).toEqual([0, 1, 2, 3]);
    const takeoverMs = Math.max(...[...taken.values()].map((p) => p.start - killedAt));
    // Heartbeat expiry (15 s), the next look (0.5 s), then the dead worker's stalled polls and lapsed locks.
    expect(takeoverMs).toBeLessThan(30_000);
    console.info(`takeover: every mailbox polled by the survivor ${takeoverMs} ms after the kill`);
  }, 150_000);
});
