/**
 * A backlog announced in batches (issue 19), against the sandbox Dovecot and the real webhook
 * pipeline: each FETCH batch published with one call, in UID order, every message once; and a
 * poll that dies right after publishing a batch, before saving the cursor past it, announces
 * again exactly that batch, with the same event ids, which the receiver gets once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import type { DomainEvent } from '../../src/domain/events/events.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50' }), () => sandbox.redis);
let connectionId: string;
beforeAll(async () => {
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  connectionId = connection.json().id;
});

/** A mailbox polled every second, its baseline taken. */
async function polledMailbox(email: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds: 1, ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json().id as string;
  await waitUntil('the baseline', async () => ((await t.deps.services.mailboxes.get(id)).lastPollAt ? true : undefined));
  return id;
}

const uidOf = (event: DomainEvent): number => (event.data as { uid: number }).uid;
const ofMailbox = (events: readonly DomainEvent[], id: string): DomainEvent[] =>
  events.filter((e) => e.type === 'message.received' && (e.data as { mailboxId: string }).mailboxId === id);

/** The mailbox's message.received deliveries the receiver got: webhook-id and UID. */
const received = (id: string) => sandbox.receiver.received
  .filter((d) => d.type === 'message.received' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id)
  .map((d) => ({ webhookId: d.id, uid: (d.body as { data: { uid: number } }).data.uid }));

/**
 * Watches the publisher's publishAll for the mailbox's events (each call's list); `around` may
 * replace a call. Answers the calls seen and the undo.
 */
function watchPublishes(
  id: string, around?: (events: readonly DomainEvent[], call: number, publish: () => Promise<void>) => Promise<void>,
): { calls: DomainEvent[][]; undo(): void } {
  const publisher = t.deps.events;
  const publishAll = publisher.publishAll!.bind(publisher);
  const calls: DomainEvent[][] = [];
  publisher.publishAll = async (events) => {
    const ours = ofMailbox(events, id);
    if (ours.length === 0) return publishAll(events);
    calls.push(ours);
    return around ? around(events, calls.length, () => publishAll(events)) : publishAll(events);
  };
  return { calls, undo: () => void (publisher.publishAll = publishAll) };
}

async function landBacklog(email: string, n: number): Promise<number> {
  const staged = await sandbox.dovecot.stageMany(email, Array.from({ length: n }, (_, i) => rawMail(email, `backlog ${i}`)));
  await staged.land();
  return n;
}

describe('a backlog', () => {
  it('is announced completely, in UID order, once, with one publish per FETCH batch (up to 100)', async () => {
    const email = 'backlog-order@contoso.example';
    const id = await polledMailbox(email);
    const watch = watchPublishes(id);
    try {
      const n = await landBacklog(email, 450);
      await waitUntil('450 deliveries', () => (received(id).length >= n ? true : undefined), 60_000);
      const published = watch.calls.flat().map(uidOf);
      // In UID order and each once: strictly ascending across every call.
      expect(published).toHaveLength(n);
      for (let i = 1; i < published.length; i++) expect(published[i]).toBeGreaterThan(published[i - 1]!);
      // Batched: up to 100 events per call (the FETCH batch), not one call per message (a poll may
      // have looked while the backlog was landing, and found part of it).
      for (const call of watch.calls) expect(call.length).toBeLessThanOrEqual(100);
      expect(watch.calls.length).toBeLessThanOrEqual(7);
      // Every message reached the receiver once, under its own id.
      const got = received(id);
      expect(got).toHaveLength(n);
      expect(new Set(got.map((d) => d.webhookId)).size).toBe(n);
      expect(new Set(got.map((d) => d.uid))).toEqual(new Set(published));
    } finally {
      watch.undo();
    }
  }, 90_000);

  it('killed right after publishing a batch, announces again only that batch, with the same ids, and the receiver gets each message once', async () => {
    const email = 'backlog-killed@contoso.example';
    const id = await polledMailbox(email);
    let cursorAtFailure: number | undefined;
    const watch = watchPublishes(id, async (_events, call, publish) => {
      if (call !== 3) return publish();
      // Where the cursor stood when this batch was published: the last batch saved.
      cursorAtFailure = (await t.deps.services.mailboxes.get(id)).folderState.INBOX?.lastSeenUid;
      await publish();
      // The deliveries exist; the poll dies before it saves the cursor past them (a Redis command failing, a killed worker).
      throw new Error('the connection to Redis was lost');
    });
    try {
      const n = await landBacklog(email, 300);
      await waitUntil('300 deliveries', () => (received(id).length >= n ? true : undefined), 60_000);
      const [, second, failed] = watch.calls;
      // The cursor stood after the second batch when the third was published…
      expect(cursorAtFailure).toBe(uidOf(second!.at(-1)!));
      const again = await waitUntil('the failed batch published again', () => watch.calls[3], 30_000);
      // …so the next poll starts again at the failed batch's first message, not before and not after,
      // and announces it under the same event ids.
      expect(uidOf(again[0]!)).toBe(uidOf(failed![0]!));
      expect(again.map((e) => e.id)).toEqual(failed!.map((e) => e.id));
      const published = watch.calls.flat().map(uidOf);
      const repeated = published.filter((uid, i) => published.indexOf(uid) !== i);
      expect(repeated).toEqual(failed!.map(uidOf));

      // Publishing the same ids again created nothing: one delivery per message.
      await new Promise((r) => setTimeout(r, 1_000));
      const got = received(id);
      expect(got).toHaveLength(n);
      expect(new Set(got.map((d) => d.uid)).size).toBe(n);
      expect(new Set(got.map((d) => d.webhookId)).size).toBe(n);
    } finally {
      watch.undo();
    }
  }, 90_000);
});
