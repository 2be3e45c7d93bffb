/**
 * The service, unchanged, on a Redis Cluster of three masters: the API's
 * records, the BullMQ queues (workers on Cluster connections), a poll that
 * announces new mail by webhook, and a send. Any command or script whose keys
 * span two hash slots fails here with CROSSSLOT, so this is also the audit of
 * store/keys.ts's hash tags. The sandbox's own Redis is not used.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { startRedisCluster, type SandboxRedisCluster } from '../../sandbox/redis-cluster.js';
import { isCluster } from '../../src/adapters/redis/redis.js';
import { redisSettingWarnings } from '../../src/adapters/redis/settings.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { rawMail, waitUntil } from '../support/mail.js';

let cluster: SandboxRedisCluster;
let sandbox: Sandbox;
let t: TestApp;
let connectionId: string;
let hookId: string;

beforeAll(async () => {
  [cluster, sandbox] = await Promise.all([startRedisCluster(), startSandbox()]);
  t = await buildTestApp('', {
    ...sandbox.serviceEnv(),
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: cluster.seeds,
    POLL_IDLE: 'false',
    WEBHOOK_RETRY_BASE_MS: '50',
  });
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/cluster`, events: ['message.received', 'message.sent'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  hookId = hook.json().id;
});

afterAll(async () => {
  await t?.close();
  await Promise.all([sandbox?.stop(), cluster?.stop()]);
});

describe('on a Redis Cluster', () => {
  it('connects through the cluster and reports it ready, checking each master', async () => {
    expect(isCluster(t.deps.redis)).toBe(true);
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode, ready.body).toBe(200);
    // The test cluster runs without AOF: one warning per master, each naming its node.
    const warnings = await redisSettingWarnings(t.deps.redis);
    expect(warnings.filter((w) => w.includes('appendonly no'))).toHaveLength(3);
    for (const node of cluster.nodes) expect(warnings.join('\n')).toContain(`${node.host}:${node.port}`);
  });

  it('creates, lists and reads connections and mailboxes (multi-key scripts and MGET in one slot)', async () => {
    const conn = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'cluster', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    expect(conn.statusCode, conn.body).toBe(201);
    connectionId = conn.json().id;
    const verify = await t.app.inject({ method: 'POST', url: `/v1/connections/${connectionId}/verify`, headers: t.auth });
    expect(verify.statusCode, verify.body).toBe(200);
    const list = await t.app.inject({ method: 'GET', url: '/v1/connections', headers: t.auth });
    expect(list.json().items.map((c: { id: string }) => c.id)).toContain(connectionId);
    const duplicate = { connectionId, email: 'dup@contoso.example', pollIntervalSeconds: 86_400 };
    expect((await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: duplicate })).statusCode).toBe(201);
    expect((await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: duplicate })).statusCode).toBe(409);
    const mailboxes = await t.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: t.auth });
    expect(mailboxes.json().items.map((m: { email: string }) => m.email)).toContain('dup@contoso.example');
  });

  it('polls with BullMQ workers on Cluster connections and announces new mail by webhook', async () => {
    const email = 'cluster-poll@contoso.example';
    const res = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: { connectionId, email, pollIntervalSeconds: 1, ...sandbox.mailServers() },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    await waitUntil('the baseline poll', async () => ((await t.deps.services.mailboxes.get(id)).lastPollAt ? true : undefined), 20_000);
    await sandbox.dovecot.deliver(email, rawMail(email, 'hello from the cluster'));
    const delivery = await sandbox.receiver.waitFor(
      (d) => d.type === 'message.received' && (d.body as { data: { subject: string } }).data.subject === 'hello from the cluster', 20_000);
    expect(delivery.verified).toBe(true);
    const workers = t.deps.jobs.activeWorkers();
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) {
      expect(w.isRunning(), w.name).toBe(true);
      // Both of a worker's connections, the one for commands and the one for blocking fetches, are Clusters.
      expect((await w.getBackend().client).isCluster, `${w.name} commands`).toBe(true);
      expect((await w.getBackend().blockingClient)?.isCluster, `${w.name} blocking fetches`).toBe(true);
    }
  }, 60_000);

  it('sends through POST /v1/send (when the sending module is present)', async (ctx) => {
    if (!t.app.hasRoute({ method: 'POST', url: '/v1/send' })) ctx.skip();
    const mailbox = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: { connectionId, email: 'cluster-send@contoso.example', pollIntervalSeconds: 86_400, ...sandbox.mailServers() },
    });
    expect(mailbox.statusCode, mailbox.body).toBe(201);
    const sent = await t.app.inject({
      method: 'POST', url: '/v1/send', headers: { ...t.auth, 'idempotency-key': 'cluster-1' },
      payload: { mailboxId: mailbox.json().id, to: ['customer@example.org'], subject: 'sent via the cluster', text: 'hi' },
    });
    expect(sent.statusCode, sent.body).toBe(202);
    const id = sent.json().id as string;
    await waitUntil('the message at the SMTP server', () => sandbox.smtp.messages.find((m) => m.parsed.subject === 'sent via the cluster'), 20_000);
    await waitUntil('status sent', async () => {
      const view = await t.app.inject({ method: 'GET', url: `/v1/send/${id}`, headers: t.auth });
      return view.json().status === 'sent' ? true : undefined;
    });
    await sandbox.receiver.waitFor((d) => d.type === 'message.sent' && (d.body as { data: { sendId: string } }).data.sendId === id, 15_000);
  }, 60_000);

  it('spreads the hash tags over the masters and reports queue depths from the cluster', async () => {
    const sizes = await Promise.all((isCluster(t.deps.redis) ? t.deps.redis.nodes('master') : []).map((n) => n.dbsize()));
    expect(sizes.filter((n) => n > 0).length, `keys per master: ${sizes.join(', ')}`).toBeGreaterThanOrEqual(2);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^mailsync_queue_jobs\{queue="poll",state="delayed"\} [1-9]/m);
    expect(t.logs.text()).not.toMatch(/CROSSSLOT|ClusterAllFailedError/);
  });

  it('pages, retries and purges webhook deliveries, and deletes mailboxes and connections (multi-key deletes)', async () => {
    const list = await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hookId}/deliveries?limit=10`, headers: t.auth });
    expect(list.statusCode, list.body).toBe(200);
    const delivered = (list.json().items as { deliveryId: string; status: string }[]).find((d) => d.status === 'delivered');
    expect(delivered).toBeDefined();
    const before = sandbox.receiver.received.length;
    const retry = await t.app.inject({ method: 'POST', url: `/v1/webhooks/${hookId}/deliveries/${delivered!.deliveryId}/retry`, headers: t.auth });
    expect(retry.statusCode, retry.body).toBe(202);
    await waitUntil('the retried delivery', () => (sandbox.receiver.received.length > before ? true : undefined));

    const mailboxes = (await t.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: t.auth })).json().items as { id: string }[];
    for (const m of mailboxes) expect((await t.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${m.id}`, headers: t.auth })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/connections/${connectionId}`, headers: t.auth })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/webhooks/${hookId}`, headers: t.auth })).statusCode).toBe(204);
    expect(t.logs.text()).not.toMatch(/CROSSSLOT|ClusterAllFailedError/);
  }, 30_000);
});
