/**
 * The service behind Redis Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME):
 * the command connection and BullMQ's connections ask the sentinel for the
 * master, then a poll runs as a BullMQ job and its mail is announced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox, type Sandbox } from '../../sandbox/index.js';
import { startRedisSentinel, type SandboxRedisSentinel } from '../../sandbox/redis-sentinel.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { rawMail, waitUntil } from '../support/mail.js';

let sentinel: SandboxRedisSentinel;
let sandbox: Sandbox;
let t: TestApp;

beforeAll(async () => {
  [sentinel, sandbox] = await Promise.all([startRedisSentinel(), startSandbox()]);
  t = await buildTestApp('', {
    ...sandbox.serviceEnv(),
    REDIS_URL: '',
    REDIS_SENTINELS: sentinel.sentinels,
    REDIS_SENTINEL_NAME: sentinel.masterName,
    POLL_IDLE: 'false',
    WEBHOOK_RETRY_BASE_MS: '50',
  });
  await t.deps.jobs.startAll();
});

afterAll(async () => {
  await t?.close();
  await Promise.all([sandbox?.stop(), sentinel?.stop()]);
});

describe('behind Redis Sentinel', () => {
  it('finds the master through the sentinel, runs jobs and announces mail', async () => {
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(await t.deps.redis.info('server')).toContain(`tcp_port:${sentinel.masterPort}`);
    const hook = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: t.auth, payload: { url: `${sandbox.receiver.url}/s`, events: ['message.received'] } });
    sandbox.receiver.setSecrets([hook.json().secret]);
    const conn = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 's', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    const email = 'sentinel@contoso.example';
    const mailbox = await t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: { connectionId: conn.json().id, email, pollIntervalSeconds: 1, ...sandbox.mailServers() } });
    expect(mailbox.statusCode, mailbox.body).toBe(201);
    await waitUntil('the baseline poll', async () => ((await t.deps.services.mailboxes.get(mailbox.json().id)).lastPollAt ? true : undefined), 20_000);
    await sandbox.dovecot.deliver(email, rawMail(email, 'through the sentinel'));
    const delivery = await sandbox.receiver.waitFor((d) => (d.body as { data?: { subject?: string } }).data?.subject === 'through the sentinel', 20_000);
    expect(delivery.verified).toBe(true);
    // BullMQ's queues are on the master too (its connections were not left at a default 127.0.0.1:6379).
    const shard = t.deps.keys.pollShardOf(mailbox.json().id);
    expect(await t.deps.redis.exists(`${t.deps.keys.pollQueuePrefix(shard)}:poll:meta`)).toBe(1);
  }, 60_000);
});
