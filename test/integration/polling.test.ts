/**
 * Polling against the sandbox Dovecot, end to end through the real webhook
 * pipeline to the sandbox receiver: new mail announced once, mail present
 * before the mailbox was added never, a UIDVALIDITY change re-baselines, and
 * an auth failure moves the mailbox to auth_error and back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { doveadmFor } from '../../sandbox/doveadm.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { hugeSubjectMail, nextSecond, rawMail, waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50' }), () => sandbox.redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received', 'mailbox.error', 'mailbox.recovered'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
});

async function connection(secret: string = SANDBOX_APP_ONLY.secret, clientId: string = SANDBOX_APP_ONLY.clientId): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId, clientSecret: secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function mailbox(email: string, connectionId: string, imap = sandbox.mailServers().imap, pollIntervalSeconds = 1): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds, ...sandbox.mailServers(), imap },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function view(id: string) {
  return (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json();
}

/**
 * A mailbox polled through the sandbox IMAP proxy (which can throttle, and counts commands and FETCH
 * responses), its baseline taken, for `test`; the proxy stops after it.
 */
async function withProxiedMailbox(user: string, test: (proxy: ImapProxy, id: string, user: string) => Promise<void>): Promise<void> {
  const proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
  try {
    const id = await mailbox(user, await connection(), { host: '127.0.0.1', port: proxy.port, secure: true });
    await waitUntil('the baseline', async () => ((await view(id)).lastPollAt ? true : undefined));
    await test(proxy, id, user);
  } finally {
    await proxy.stop();
  }
}

const received = (mailboxId: string, subject?: string) =>
  sandbox.receiver.received.filter((d) => d.type === 'message.received' && (d.body as { data: { mailboxId: string; subject: string } }).data.mailboxId === mailboxId
    && (subject === undefined || (d.body as { data: { subject: string } }).data.subject === subject));

describe('polling', () => {
  it('announces new mail once, and never the mail that was there before', async () => {
    const user = 'poll-once@contoso.example';
    await sandbox.dovecot.deliver(user, rawMail(user, 'already there'));
    await nextSecond();
    const id = await mailbox(user, await connection());
    const first = await waitUntil('the baseline poll', async () => ((await view(id)).lastPollAt ? view(id) : undefined));
    expect(first.folderState.INBOX.lastSeenUid).toBe(1);

    await sandbox.dovecot.deliver(user, rawMail(user, 'new one'));
    const delivery = await waitUntil('the webhook', () => received(id, 'new one')[0]);
    expect(delivery.verified).toBe(true);
    expect((delivery.body as { data: Record<string, unknown> }).data).toMatchObject({
      mailboxId: id, email: user, folder: 'INBOX', uid: 2, subject: 'new one', from: ['customer@example.org'], to: [user],
    });

    // Several more polls pass: still one delivery for that message, none for the old one.
    const polledAt = (await view(id)).lastPollAt;
    await waitUntil('three more polls', async () => (Date.parse((await view(id)).lastPollAt) > Date.parse(polledAt) + 2500 ? true : undefined));
    expect(received(id, 'new one')).toHaveLength(1);
    expect(received(id, 'already there')).toHaveLength(0);
    expect((await view(id)).state).toBe('active');
  });

  it('announces the mail that came between adding the mailbox and its first poll, however late that poll', async () => {
    const user = 'poll-late-first@contoso.example';
    await sandbox.dovecot.deliver(user, rawMail(user, 'there before'));
    await nextSecond();
    // The first poll is due within the first interval (an hour here), and comes after two mails.
    const before = Date.now();
    const id = await mailbox(user, await connection(), sandbox.mailServers().imap, 3600);
    const due = await t.deps.polling.scheduler.dueOf(id);
    const shown = Date.parse((await view(id)).nextPollAt);
    expect(shown).toBe(due);
    expect(shown).toBeGreaterThanOrEqual(before);
    expect(shown).toBeLessThan(before + 3_600_000);
    await t.deps.polling.scheduler.unschedule(id);
    await sandbox.dovecot.deliver(user, rawMail(user, 'came meanwhile 1'));
    await sandbox.dovecot.deliver(user, rawMail(user, 'came meanwhile 2'));
    expect((await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/poll`, headers: t.auth })).statusCode).toBe(202);
    const uids = await waitUntil('both announcements', () => {
      const got = [received(id, 'came meanwhile 1')[0], received(id, 'came meanwhile 2')[0]];
      return got.every(Boolean) ? got.map((d) => (d!.body as { data: { uid: number } }).data.uid) : undefined;
    });
    expect(uids).toEqual([2, 3]);
    expect((await view(id)).folderState.INBOX.lastSeenUid).toBe(3);
    expect(received(id, 'there before')).toHaveLength(0);
  });

  it('watches a folder added by PATCH from then on: its mail from before is not announced, its mail before the next poll is', async () => {
    const user = 'poll-patch-folder@contoso.example';
    const id = await mailbox(user, await connection());
    await waitUntil('the baseline poll', async () => ((await view(id)).lastPollAt ? true : undefined));
    expect((await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth })).statusCode).toBe(200);
    await sandbox.dovecot.createFolder(user, 'Orders');
    await sandbox.dovecot.deliver(user, rawMail(user, 'old order'), 'Orders');
    await nextSecond();
    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${id}`, headers: t.auth, payload: { folders: ['INBOX', 'Orders'] } });
    expect(patched.statusCode, patched.body).toBe(200);
    await sandbox.dovecot.deliver(user, rawMail(user, 'new order'), 'Orders');
    expect((await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/resume`, headers: t.auth })).statusCode).toBe(200);
    const d = await waitUntil('the announcement', () => received(id, 'new order')[0]);
    expect((d.body as { data: { folder: string; uid: number } }).data).toMatchObject({ folder: 'Orders', uid: 2 });
    expect(received(id, 'old order')).toHaveLength(0);

    // No longer watched, then watched again: it starts afresh, from the second PATCH.
    await t.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${id}`, headers: t.auth, payload: { folders: ['INBOX'] } });
    expect(Object.keys((await view(id)).folderState)).toEqual(['INBOX']);
  });

  it('re-baselines after a UIDVALIDITY change without announcing the folder again', async () => {
    const user = 'poll-uidvalidity@contoso.example';
    const id = await mailbox(user, await connection());
    await waitUntil('the baseline poll', async () => ((await view(id)).lastPollAt ? true : undefined));
    await sandbox.dovecot.deliver(user, rawMail(user, 'before reset'));
    await waitUntil('the first announcement', () => received(id, 'before reset')[0]);
    const before = (await view(id)).folderState.INBOX;

    await sandbox.dovecot.resetUidValidity(user, 'INBOX');
    const after = await waitUntil('the new baseline', async () => {
      const state = (await view(id)).folderState.INBOX;
      return state.uidValidity !== before.uidValidity ? state : undefined;
    });
    expect(after.uidValidityChangedAt).toBeDefined();
    expect(received(id)).toHaveLength(1);

    await sandbox.dovecot.deliver(user, rawMail(user, 'after reset'));
    const d = await waitUntil('the next announcement', () => received(id, 'after reset')[0]);
    expect((d.body as { data: { uidValidity: number } }).data.uidValidity).toBe(after.uidValidity);
    // The folder's state still says when UIDVALIDITY changed (announcing a message used to drop it).
    expect((await view(id)).folderState.INBOX.uidValidityChangedAt).toBe(after.uidValidityChangedAt);
  });

  it('moves to auth_error with the hint, announces it once, and recovers when the secret is fixed', async () => {
    const user = 'poll-auth@contoso.example';
    // Its own app registration: app-only tokens are shared per (authority, client), and other tests hold one.
    const app = { clientId: '0a1b2c3d-0000-4000-8000-0000000000a7', secret: 'Auth8Q~the-right-secret-value-007' };
    sandbox.identity.addApp({ clientId: app.clientId, homeTenantId: SANDBOX_TENANT.id, secrets: [{ id: 'a7', value: app.secret }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
    const connectionId = await connection('Wrong8Q~not-the-secret-value-000', app.clientId);
    const id = await mailbox(user, connectionId);
    const failed = await waitUntil('auth_error', async () => {
      const v = await view(id);
      return v.state === 'auth_error' ? v : undefined;
    });
    expect(failed.lastError).toMatchObject({
      code: 'invalid_client_secret', hint: expect.stringMatching(/Value/), setupStep: 'client_secret',
      // A connection set up moments ago: Microsoft may still be applying it, and the state says so.
      note: expect.stringMatching(/less than an hour ago/),
    });
    await waitUntil('the mailbox.error event', () => sandbox.receiver.received.find((d) => d.type === 'mailbox.error' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id));
    // Mail that comes while the mailbox has never been polled is announced once it is.
    await sandbox.dovecot.deliver(user, rawMail(user, 'while failing'));

    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/connections/${connectionId}`, headers: t.auth, payload: { clientSecret: app.secret } });
    expect(patched.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/poll`, headers: t.auth })).statusCode).toBe(202);
    const recovered = await waitUntil('recovery', async () => {
      const v = await view(id);
      return v.state === 'active' ? v : undefined;
    });
    expect(recovered.lastError).toBeNull();
    await waitUntil('the mailbox.recovered event', () => sandbox.receiver.received.find((d) => d.type === 'mailbox.recovered' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id));
    const errors = sandbox.receiver.received.filter((d) => d.type === 'mailbox.error' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id);
    expect(errors).toHaveLength(1);
    await waitUntil('the mail that came while failing', () => received(id, 'while failing')[0]);
  });

  it('polls the mailboxes an identity platform outage held in error as soon as one of them gets past it', async () => {
    // Its own app registration: app-only tokens are cached per (authority, client), and other tests hold one.
    const app = { clientId: '0a1b2c3d-0000-4000-8000-0000000000b8', secret: 'Wake8Q~the-right-secret-value-008' };
    sandbox.identity.addApp({ clientId: app.clientId, homeTenantId: SANDBOX_TENANT.id, secrets: [{ id: 'b8', value: app.secret }], appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'] });
    const connectionId = await connection(app.secret, app.clientId);
    sandbox.identity.setOutage({ kind: 'down' });
    const ids: string[] = [];
    try {
      for (const n of [1, 2, 3]) ids.push(await mailbox(`poll-wake-${n}@contoso.example`, connectionId));
      await waitUntil('every mailbox in error', async () => {
        const views = await Promise.all(ids.map(view));
        return views.every((v) => v.state === 'error' && v.lastError?.code === 'identity_platform_unreachable') ? true : undefined;
      });
    } finally {
      sandbox.identity.setOutage(null);
    }
    // A long outage has pushed their back-off far out (up to 15 minutes): here, ten.
    const [first, ...peers] = ids as [string, ...string[]];
    for (const id of ids) await t.deps.polling.scheduler.schedule(id, Date.now() + 600_000);
    expect((await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${first}/poll`, headers: t.auth })).statusCode).toBe(202);
    await waitUntil('the first mailbox recovered', async () => ((await view(first)).state === 'active' ? true : undefined));
    // The others follow within the wake spread (5 s), not ten minutes later.
    await waitUntil('its peers recovered', async () => ((await Promise.all(peers.map(view))).every((v) => v.state === 'active') ? true : undefined), 10_000);
    for (const id of ids) await t.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${id}`, headers: t.auth });
  });

  it('pauses and resumes', async () => {
    const user = 'poll-pause@contoso.example';
    const id = await mailbox(user, await connection());
    await waitUntil('a poll', async () => ((await view(id)).lastPollAt ? true : undefined));
    const paused = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth });
    expect(paused.json()).toMatchObject({ state: 'paused', nextPollAt: null });
    await sandbox.dovecot.deliver(user, rawMail(user, 'while paused'));
    await new Promise((r) => setTimeout(r, 2500));
    expect(received(id, 'while paused')).toHaveLength(0);
    expect((await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/poll`, headers: t.auth })).statusCode).toBe(409);
    const before = Date.now();
    const resumed = (await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/resume`, headers: t.auth })).json();
    expect(resumed.state).toBe('active');
    // Polled at once: the view says when, not null.
    expect(Date.parse(resumed.nextPollAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(resumed.nextPollAt)).toBeLessThanOrEqual(Date.now() + 2000);
    await waitUntil('the announcement after resume', () => received(id, 'while paused')[0]);
  });

  it('moves past mail deleted before it was announced, then polls with a STATUS alone', async () => {
    await withProxiedMailbox('poll-expunged@contoso.example', async (proxy, id, user) => {
      await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth });
      for (const subject of ['gone 1', 'gone 2', 'gone 3']) await sandbox.dovecot.deliver(user, rawMail(user, subject));
      await doveadmFor(sandbox.dovecot.configFile)(['expunge', '-u', user, 'mailbox', 'INBOX', 'all']);
      await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/resume`, headers: t.auth });
      const { uidNext } = await sandbox.dovecot.status(user, 'INBOX');
      const past = await waitUntil('the cursor past the deleted mail', async () => {
        const v = await view(id);
        return v.folderState.INBOX.lastSeenUid === uidNext - 1 ? v : undefined;
      });
      // Later polls: NOOP and STATUS, no UID SEARCH or FETCH for mail that is not there.
      const uidCommands = () => proxy.commands.filter((c) => c.command === 'UID').length;
      const before = uidCommands();
      await waitUntil('two more polls', async () => (Date.parse((await view(id)).lastPollAt) > Date.parse(past.lastPollAt) + 2000 ? true : undefined));
      expect(uidCommands()).toBe(before);
      expect(received(id)).toHaveLength(0);
      expect((await view(id)).state).toBe('active');
    });
  });

  it('polls a mailbox whose trigger was lost within about 15 s of its due time (the sweeper)', async () => {
    const user = 'poll-lost-trigger@contoso.example';
    const res = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: { connectionId: await connection(), email: user, pollIntervalSeconds: 3600, ...sandbox.mailServers() },
    });
    const id = res.json().id as string;
    await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/poll`, headers: t.auth });
    const first = await waitUntil('the baseline', async () => {
      const v = await view(id);
      return v.lastPollAt ? v : undefined;
    });
    // Due now, with no job to trigger it: what a job dropped while Redis was unreachable leaves.
    const due = Date.now();
    await t.deps.redis.zadd(t.deps.keys.pollDue(t.deps.keys.pollShardOf(id)), String(due), id);
    const polled = await waitUntil('a poll from the sweeper', async () => {
      const v = await view(id);
      return Date.parse(v.lastPollAt) > Date.parse(first.lastPollAt) ? v : undefined;
    }, 25_000);
    // Grace 10 s, a sweep every 5 s: it was 30 s and 15 s, 30-45 s in all.
    expect(Date.parse(polled.lastPollAt) - due).toBeLessThan(17_000);
    expect(Date.parse(polled.lastPollAt) - due).toBeGreaterThanOrEqual(10_000);
  }, 40_000);

  it("honours Exchange's throttling: throttled state, the suggested back-off, then recovery", async () => {
    await withProxiedMailbox('poll-throttle@contoso.example', async (proxy, id) => {
      proxy.setBehaviour({ throttle: { commands: ['STATUS'], backoffMs: 1500, times: 1 } });
      const throttled = await waitUntil('throttled', async () => {
        const v = await view(id);
        return v.state === 'throttled' ? v : undefined;
      });
      expect(throttled.lastError).toMatchObject({ code: 'imap_throttled' });
      // The next poll waits at least what Exchange suggested (plus slack), not the 1 s interval.
      expect(Date.parse(throttled.nextPollAt) - Date.parse(throttled.lastPollAt)).toBeGreaterThanOrEqual(1500);
      const statusCalls = () => proxy.commands.filter((c) => c.command === 'STATUS').length;
      const callsWhenThrottled = statusCalls();
      await new Promise((r) => setTimeout(r, 1000));
      expect(statusCalls()).toBe(callsWhenThrottled);
      const recovered = await waitUntil('recovery', async () => {
        const v = await view(id);
        return v.state === 'active' ? v : undefined;
      });
      expect(recovered.lastError).toBeNull();
      expect(proxy.throttled).toBe(1);
      await waitUntil('the mailbox.recovered event', () => sandbox.receiver.received.find((d) => d.type === 'mailbox.recovered' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id));
    });
  });

  it('announces a backlog of 1,200 messages once each, fetching each envelope once', async () => {
    await withProxiedMailbox('poll-backlog@contoso.example', async (proxy, id, user) => {
      const subjects = Array.from({ length: 1200 }, (_, i) => `backlog ${i}`);
      await sandbox.dovecot.deliverMany(user, subjects.map((subject) => rawMail(user, subject)));
      // 500 per folder per poll, 100 per FETCH: three polls, the next following at once while there is more.
      await waitUntil('1,200 announcements', () => (received(id).length >= 1200 ? true : undefined), 60_000);
      await new Promise((r) => setTimeout(r, 1500)); // another poll or two: nothing more
      const announced = received(id).map((d) => (d.body as { data: { uid: number; subject: string } }).data);
      expect(announced).toHaveLength(1200);
      expect(new Set(announced.map((m) => m.subject))).toEqual(new Set(subjects));
      expect(new Set(announced.map((m) => m.uid)).size).toBe(1200);
      // Each envelope crossed the wire once. A FETCH of `<cursor>:*` per batch sent about 7,800.
      expect(proxy.fetchResponses).toBe(1200);
      expect((await view(id)).state).toBe('active');
    });
  }, 90_000);

  it('gets past a message whose envelope is too large: narrows the batch down, announces it by UID and size, and goes on', async () => {
    const user = 'poll-poison@contoso.example';
    const id = await mailbox(user, await connection());
    await waitUntil('the baseline', async () => ((await view(id)).lastPollAt ? true : undefined));
    await sandbox.dovecot.deliverMany(user, [rawMail(user, 'before the poison'), hugeSubjectMail(user), rawMail(user, 'after the poison 1'), rawMail(user, 'after the poison 2')]);

    await waitUntil('four announcements', () => (received(id).length >= 4 ? true : undefined), 60_000);
    const announced = received(id).map((d) => (d.body as { data: { uid: number; subject: string | null; size: number; envelopeTooLarge?: boolean } }).data);
    expect(announced).toHaveLength(4);
    const tooLarge = announced.filter((m) => m.envelopeTooLarge === true);
    expect(tooLarge).toHaveLength(1);
    expect(tooLarge[0]).toMatchObject({ subject: null, from: [], to: [] });
    expect(tooLarge[0]!.size).toBeGreaterThan(1024 * 1024);
    expect(announced.map((m) => m.subject).filter((subject) => subject !== null).sort()).toEqual(['after the poison 1', 'after the poison 2', 'before the poison']);
    expect(new Set(announced.map((m) => m.uid)).size).toBe(4);

    // On the way it failed (once announced as an error, with the reason), then recovered.
    const errors = sandbox.receiver.received.filter((d) => d.type === 'mailbox.error' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id);
    expect(errors).toHaveLength(1);
    expect((errors[0]!.body as { data: { error: { detail: string } } }).data.error.detail).toMatch(/larger than the service accepts/);
    const recovered = await waitUntil('active again', async () => {
      const v = await view(id);
      return v.state === 'active' ? v : undefined;
    });
    expect(recovered.folderState.INBOX).not.toHaveProperty('suspectUntil');
    expect(recovered.folderState.INBOX).not.toHaveProperty('tooLargeUid');
    await waitUntil('the mailbox.recovered event', () => sandbox.receiver.received.find((d) => d.type === 'mailbox.recovered' && (d.body as { data: { mailboxId: string } }).data.mailboxId === id));
  }, 90_000);

  it('watches a folder given by special use, and deleting the mailbox removes its schedule', async () => {
    const user = 'poll-sent@contoso.example';
    await sandbox.dovecot.createFolder(user, 'Sent Items', '\\Sent');
    const res = await t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth,
      payload: { connectionId: await connection(), email: user, folders: ['INBOX', '\\Sent'], pollIntervalSeconds: 1, ...sandbox.mailServers() },
    });
    const id = res.json().id as string;
    await waitUntil('baselines of both folders', async () => (Object.keys((await view(id)).folderState).length === 2 ? true : undefined));
    await sandbox.dovecot.deliver(user, rawMail(user, 'a copy in Sent'), 'Sent Items');
    const d = await waitUntil('the announcement', () => received(id, 'a copy in Sent')[0]);
    expect((d.body as { data: { folder: string } }).data.folder).toBe('Sent Items');

    expect(await t.deps.polling.scheduler.dueOf(id)).toBeDefined();
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${id}`, headers: t.auth })).statusCode).toBe(204);
    expect(await t.deps.polling.scheduler.dueOf(id)).toBeUndefined();
    // A poll running at the moment of deletion finishes and cleans up after itself.
    await waitUntil('no key naming the mailbox', async () => ((await t.deps.redis.keys('*')).some((k) => k.includes(id)) ? undefined : true), 5_000);
  });
});
