/**
 * Redis at its maxmemory (noeviction), as in the classic incident of a
 * queue-backed service: a private redis-server whose limit is set just under
 * what a big filler key takes. While it is full, every write path answers 503
 * `storage_full` with Retry-After and a hint (not a 500), /health/ready names
 * `redis-memory`, and /metrics shows used memory over the limit; once the
 * filler is deleted everything flows again by itself, and nothing accepted
 * before was lost. The workers' fan-out: a poll whose announcement the full
 * Redis refused leaves the cursor before the mail and the mailbox out of
 * `error`, and the mail is announced once there is room (after a long
 * incident, and at the next poll after a momentary one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { createRedis, type Redis } from '../../src/adapters/redis/redis.js';
import type { DomainEvent } from '../../src/domain/events/events.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';

const FILLER = 'redis-full-test:filler';
const FILLER_BYTES = 8 * 1024 * 1024;

let admin: Redis;
let connectionId: string;

// A redis-server of this test's own: its maxmemory is changed, which a shared Redis must not see.
const sandbox = useSandbox({ redis: { kind: 'process' } });
beforeAll(async () => {
  admin = createRedis(sandbox.redis.url, 'command', 'redis-full-test');
  await admin.connect();
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
});
afterAll(() => {
  admin?.disconnect();
});
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50', SEND_RETRY_BASE_MS: '100',
}), () => sandbox.redis);
beforeAll(async () => {
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received', 'message.sent', 'mailbox.error'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'full', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  connectionId = connection.json().id;
});

// Room in Redis before the app closes.
afterAll(async () => {
  await admin?.del(FILLER).catch(() => undefined);
});

const usedMemory = async (): Promise<number> => Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))![1]);

/**
 * Redis full: a filler key, and maxmemory at what was used before it plus half its size. The filler
 * is written in small pieces: one big SET would leave as big a query buffer in Redis, counted as
 * used memory until Redis trims it a few seconds later.
 */
async function fill(): Promise<void> {
  await admin.config('SET', 'maxmemory', '0');
  await admin.del(FILLER);
  const before = await usedMemory();
  const piece = Buffer.alloc(64 * 1024, 'x');
  for (let written = 0; written < FILLER_BYTES; written += piece.length) await admin.append(FILLER, piece);
  await admin.config('SET', 'maxmemory', String(before + FILLER_BYTES / 2));
}

/** Room again: half the filler's size is free under the same maxmemory. */
async function free(): Promise<void> {
  await admin.del(FILLER);
}

async function mailbox(email: string, pollIntervalSeconds = 86_400): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds, ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const send = (mailboxId: string, subject: string) =>
  t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId, to: ['customer@example.org'], subject, text: 'Hello.' } });

/** With the API key: every check and its detail. */
const ready = async () => {
  const res = await t.app.inject({ method: 'GET', url: '/health/ready', headers: t.auth });
  return { status: res.statusCode, checks: res.json().checks as { name: string; ok: boolean; detail?: string }[] };
};

const gauge = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

const sendView = async (id: string) => (await t.app.inject({ method: 'GET', url: `/v1/send/${id}`, headers: t.auth })).json();

/** A mailbox polled every second by the running workers, its baseline taken. */
async function polledMailbox(email: string) {
  await t.deps.jobs.startAll();
  const id = await mailbox(email, 1);
  const view = async () => (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json();
  await waitUntil('the baseline poll', async () => ((await view()).lastPollAt ? true : undefined));
  const announced = () => sandbox.receiver.received.filter((d) => d.type === 'message.received'
    && (d.body as { data: { mailboxId: string } }).data.mailboxId === id);
  return { id, view, announced };
}

/**
 * Redis fills up at the moment a poll of the mailbox publishes a message (past the poll lock, the
 * token and IMAP, which write to Redis too): the real publisher meets the full Redis. With
 * `freeAfter`, memory is freed again as soon as that publish was refused (memory hovering at the
 * limit). Answers the undo.
 */
function fillAtPublish(mailboxId: string, options: { freeAfter: boolean }): () => void {
  const publisher = t.deps.events;
  const publish = publisher.publish.bind(publisher);
  // A poll publishes its batch of new mail at once (publishAll).
  const publishAll = publisher.publishAll!.bind(publisher);
  let filled = false;
  const ours = (event: DomainEvent): boolean => event.type === 'message.received' && (event.data as { mailboxId: string }).mailboxId === mailboxId;
  const filling = async <T>(go: () => Promise<T>): Promise<T> => {
    filled = true;
    await fill();
    try {
      return await go();
    } finally {
      if (options.freeAfter) await free();
    }
  };
  publisher.publish = async (event) => (filled || !ours(event) ? publish(event) : filling(() => publish(event)));
  publisher.publishAll = async (events) => (filled || !events.some(ours) ? publishAll(events) : filling(() => publishAll(events)));
  return () => {
    publisher.publish = publish;
    publisher.publishAll = publishAll;
  };
}

/** A poll of the mailbox failed because Redis refused its announcement, and said so. */
async function refusedPoll(mailboxId: string): Promise<void> {
  await waitUntil('a poll whose announcement the full Redis refused', () =>
    t.logs.records().some((r) => r.msg === 'poll failed' && r.mailboxId === mailboxId && r.code === 'storage_full') || undefined);
}

const mailboxErrors = (mailboxId: string) =>
  sandbox.receiver.received.filter((d) => d.type === 'mailbox.error' && (d.body as { data: { mailboxId: string } }).data.mailboxId === mailboxId);

describe('Redis at its maxmemory', () => {
  it('answers 503 storage_full with Retry-After on every write path, fails readiness on redis-memory, and flows again once memory is freed', async () => {
    const from = await mailbox('full-sender@contoso.example');
    const hookId = (await t.app.inject({ method: 'GET', url: '/v1/webhooks', headers: t.auth })).json().items[0].id;
    // Accepted before the fill, while no worker runs: it must still be sent after the incident.
    const before = await send(from, 'accepted before the fill');
    expect(before.statusCode, before.body).toBe(202);

    await fill();

    const refused = await send(from, 'sent while full');
    expect(refused.statusCode, refused.body).toBe(503);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.json()).toMatchObject({ status: 503, code: 'storage_full', hint: expect.stringContaining('maxmemory') });
    // Logged with the refused command's name, not its arguments (the encrypted message, the script).
    const logged = t.logs.records().filter((r) => r.msg === 'request failed');
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).not.toContain('"args"');
    const writes = [
      { method: 'POST', url: '/v1/connections', payload: { name: 'more', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url } },
      { method: 'PATCH', url: `/v1/connections/${connectionId}`, payload: { name: 'renamed' } },
      { method: 'POST', url: '/v1/mailboxes', payload: { connectionId, email: 'full-new@contoso.example', pollIntervalSeconds: 60, ...sandbox.mailServers() } },
      { method: 'PATCH', url: `/v1/mailboxes/${from}`, payload: { pollIntervalSeconds: 120 } },
      { method: 'POST', url: `/v1/mailboxes/${from}/pause` },
      { method: 'POST', url: '/v1/webhooks', payload: { url: `${sandbox.receiver.url}/other`, events: ['message.received'] } },
      { method: 'POST', url: `/v1/webhooks/${hookId}/rotate-secret` },
    ] as const;
    for (const write of writes) {
      const res = await t.app.inject({ method: write.method, url: write.url, headers: t.auth, ...('payload' in write ? { payload: write.payload } : {}) });
      expect(res.statusCode, `${write.method} ${write.url}: ${res.body}`).toBe(503);
      expect(res.json().code, `${write.method} ${write.url}`).toBe('storage_full');
      expect(res.headers['retry-after']).toBe('30');
    }
    // Reads still work.
    expect((await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${from}`, headers: t.auth })).statusCode).toBe(200);

    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['redis-memory']);
    expect(down.checks.find((c) => c.name === 'redis-memory')?.detail).toMatch(/used of maxmemory .*: free memory in Redis or raise maxmemory/);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const used = gauge(metrics, 'mailsync_redis_memory_used_bytes');
    const max = gauge(metrics, 'mailsync_redis_memory_max_bytes');
    expect(max).toBeGreaterThan(0);
    expect(used).toBeGreaterThan(max);

    await free();

    await waitUntil('readiness to recover', async () => ((await ready()).status === 200 ? true : undefined));
    const after = await send(from, 'accepted after the fill');
    expect(after.statusCode, after.body).toBe(202);
    await t.deps.jobs.startAll();
    for (const id of [before.json().id as string, after.json().id as string]) {
      const done = await waitUntil(`send ${id} to finish`, async () => {
        const v = await sendView(id);
        return v.status === 'sent' || v.status === 'failed' ? v : undefined;
      });
      expect(done.status).toBe('sent');
      expect(sandbox.smtp.messages.filter((m) => m.parsed.messageId === done.messageId)).toHaveLength(1);
      await sandbox.receiver.waitFor((d) => d.type === 'message.sent' && (d.body as { data: { sendId: string } }).data.sendId === id);
    }
    const later = await t.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${from}`, headers: t.auth, payload: { pollIntervalSeconds: 120 } });
    expect(later.statusCode, later.body).toBe(200);
    const scrape = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(gauge(scrape, 'mailsync_redis_memory_used_bytes')).toBeLessThan(gauge(scrape, 'mailsync_redis_memory_max_bytes') * 0.95);
  }, 60_000);

  it('workers: mail whose announcement the full Redis refused is announced once memory is freed, and the mailbox is not put in error', async () => {
    const { id, view, announced } = await polledMailbox('full-poll@contoso.example');
    const restore = fillAtPublish(id, { freeAfter: false });
    try {
      await sandbox.dovecot.deliver('full-poll@contoso.example', rawMail('full-poll@contoso.example', 'arrived'));
      await refusedPoll(id);
      expect(announced()).toHaveLength(0);
      expect(await view()).toMatchObject({ state: 'active', lastError: null, folderState: { INBOX: { lastSeenUid: 0 } } });
    } finally {
      restore();
    }

    await free();

    const delivery = await waitUntil('the announcement once there is room', () => announced()[0], 40_000);
    expect(delivery.verified).toBe(true);
    await waitUntil('the cursor past it', async () => ((await view()).folderState.INBOX.lastSeenUid === 1 ? true : undefined));
    expect(await view()).toMatchObject({ state: 'active', lastError: null });
    expect(announced()).toHaveLength(1);
    expect(mailboxErrors(id)).toHaveLength(0);
  }, 90_000);

  it('workers: Redis full for a moment (memory at the limit) holds no mailbox in error: its mail is announced at the next poll', async () => {
    const { id, view, announced } = await polledMailbox('full-moment@contoso.example');
    const restore = fillAtPublish(id, { freeAfter: true });
    try {
      await sandbox.dovecot.deliver('full-moment@contoso.example', rawMail('full-moment@contoso.example', 'arrived'));
      await refusedPoll(id);
      const delivery = await waitUntil('the announcement at the next poll', () => announced()[0]);
      expect(delivery.verified).toBe(true);
    } finally {
      restore();
    }
    await waitUntil('the cursor past it', async () => ((await view()).folderState.INBOX.lastSeenUid === 1 ? true : undefined));
    expect(await view()).toMatchObject({ state: 'active', lastError: null });
    expect(announced()).toHaveLength(1);
    expect(mailboxErrors(id)).toHaveLength(0);
  }, 60_000);
});
