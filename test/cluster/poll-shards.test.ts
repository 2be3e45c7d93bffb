/**
 * Poll shards on a Redis Cluster of three masters, each with a replica: the
 * poll queues and schedule spread over several masters (each shard its own
 * hash tag), every mail is announced once, and when the master of some poll
 * shards fails over to its replica, no mailbox is lost: every one stays
 * scheduled and its new mail is announced. (A master killed outright is not
 * tested here: see the note in the README's "Mailboxes and polling".)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { startRedisCluster, type SandboxRedisCluster } from '../../sandbox/redis-cluster.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { rawMail, waitUntil } from '../support/mail.js';

const MAILBOXES = 12;
let cluster: SandboxRedisCluster;
let sandbox: Sandbox;
let t: TestApp;
const ids: string[] = [];
const emails: string[] = [];

beforeAll(async () => {
  [cluster, sandbox] = await Promise.all([startRedisCluster({ replicas: true }), startSandbox()]);
  t = await buildTestApp('', {
    ...sandbox.serviceEnv(),
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: cluster.seeds,
    POLL_IDLE: 'false',
    POLL_SHARDS: '8',
    WEBHOOK_RETRY_BASE_MS: '50',
  });
  await t.deps.jobs.startAll();
}, 90_000);

afterAll(async () => {
  await t?.close();
  await Promise.all([sandbox?.stop(), cluster?.stop()]);
});

const redis = (): Cluster => t.deps.redis as unknown as Cluster;
const subjectOf = (d: { body: unknown }): string => (d.body as { data: { subject: string } }).data.subject;

/** The port of the master holding each poll shard's keys now. */
async function mastersOfShards(): Promise<Map<number, number>> {
  const where = new Map<number, number>();
  for (const node of redis().nodes('master')) {
    for (let shard = 0; shard < t.deps.keys.pollShards; shard++) {
      const slot = Number(await node.cluster('KEYSLOT', t.deps.keys.pollQueuePrefix(shard)));
      const ranges = (await node.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (owner) where.set(shard, owner[2][1]);
    }
    break;
  }
  return where;
}

async function deliverAndWait(subject: (email: string) => string, timeoutMs: number): Promise<void> {
  const subjects = emails.map(subject);
  for (const email of emails) await sandbox.dovecot.deliver(email, rawMail(email, subject(email)));
  const announced = (): Set<string> => new Set(sandbox.receiver.received.filter((d) => d.type === 'message.received').map(subjectOf));
  try {
    await waitUntil(`every "${subject('')}" message announced`, () => (subjects.every((s) => announced().has(s)) ? true : undefined), timeoutMs);
  } catch (err) {
    // What a failure shows: the messages missing, where each mailbox stands, the service's warnings.
    console.error('missing', subjects.filter((s) => !announced().has(s)));
    for (const id of ids) {
      const m = await t.deps.services.mailboxes.get(id);
      console.error(m.email, t.deps.keys.pollShardOf(id), m.state, m.lastPollAt, await t.deps.polling.scheduler.dueOf(id).catch(String));
    }
    const survivor = redis().nodes('master')[0];
    console.error(await survivor?.cluster('NODES').catch(String));
    console.error(t.logs.text().split('\n').filter((l) => /"level":(40|50)/.test(l)).slice(-40).join('\n'));
    throw err;
  }
}

describe('poll shards on a Redis Cluster', () => {
  it('spreads the poll shards over several masters and announces each message once', async () => {
    const hook = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: t.auth, payload: { url: `${sandbox.receiver.url}/shards`, events: ['message.received'] } });
    sandbox.receiver.setSecrets([hook.json().secret]);
    const conn = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'shards', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    for (let i = 0; i < MAILBOXES; i++) {
      const email = `cluster-shard-${i}@contoso.example`;
      const res = await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: { connectionId: conn.json().id, email, pollIntervalSeconds: 1, ...sandbox.mailServers() } });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
      emails.push(email);
    }
    for (const id of ids) await waitUntil(`the baseline of ${id}`, async () => ((await t.deps.services.mailboxes.get(id)).lastPollAt ? true : undefined), 30_000);

    // The shards' queues are on several masters, and so are the shards our mailboxes are in.
    const masters = await mastersOfShards();
    expect(new Set(masters.values()).size, JSON.stringify([...masters])).toBeGreaterThanOrEqual(2);
    const used = new Set(ids.map((id) => masters.get(t.deps.keys.pollShardOf(id))));
    expect(used.size).toBeGreaterThanOrEqual(2);
    let mastersWithPollJobs = 0;
    for (const node of redis().nodes('master')) if ((await node.keys(`{${t.deps.keys.prefix}:poll:*}:poll:meta`)).length > 0) mastersWithPollJobs += 1;
    expect(mastersWithPollJobs).toBeGreaterThanOrEqual(2);

    await deliverAndWait((email) => `before the failover ${email}`, 30_000);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^mailsync_queue_jobs\{queue="poll",state="delayed"\} [1-9]/m);
  }, 120_000);

  it("loses no mailbox when a poll shard's master fails over to its replica", async () => {
    const masters = await mastersOfShards();
    // The master holding the most of our mailboxes' shards.
    const load = new Map<number, number>();
    for (const id of ids) {
      const port = masters.get(t.deps.keys.pollShardOf(id))!;
      load.set(port, (load.get(port) ?? 0) + 1);
    }
    const [victim] = [...load].sort((a, b) => b[1] - a[1])[0]!;
    // A planned failover (CLUSTER FAILOVER on the replica): clients get MOVED and follow it.
    const promoted = await cluster.failover(victim);
    expect(promoted).not.toBe(victim);
    const movedShard = [...masters].find(([, port]) => port === victim)![0];
    await waitUntil('the cluster telling the shard on the promoted replica', async () => ((await mastersOfShards()).get(movedShard) === promoted ? true : undefined), 20_000);

    await deliverAndWait((email) => `after the failover ${email}`, 90_000);
    // Every mailbox is still on the schedule, in its shard.
    for (const id of ids) expect(await t.deps.polling.scheduler.dueOf(id), id).toBeDefined();
    // Each message announced under one webhook-id (a repeat after a failover carries the same id).
    const bySubject = new Map<string, Set<string>>();
    for (const d of sandbox.receiver.received.filter((x) => x.type === 'message.received')) {
      bySubject.set(subjectOf(d), (bySubject.get(subjectOf(d)) ?? new Set()).add(String(d.id)));
    }
    for (const [subject, deliveryIds] of bySubject) expect(deliveryIds.size, subject).toBe(1);
    expect(t.logs.text()).not.toMatch(/CROSSSLOT/);
  }, 150_000);
});
