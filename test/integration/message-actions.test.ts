/**
 * Acting on mail against the sandbox Dovecot, which names and flags its
 * folders as Exchange does ("Deleted Items" \Trash, "Sent Items" \Sent,
 * "Junk Email" \Junk, "Archive" \Archive, separator /): folders (list,
 * counts, create, UTF-8 and spaces, refused paths), flags, move, delete
 * (to Deleted Items, and for good without touching what another client
 * flagged \Deleted), bulk actions with present and missing UIDs, UIDs that
 * vanished before or during an action, every error, the `modify` scope, and
 * session reuse (logins counted: one per mailbox, not one per action).
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { doveadmFor } from '../../sandbox/doveadm.js';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { createActionSession } from '../../src/adapters/imap/action-session.js';
import { TEST_API_KEY } from '../support/app.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail } from '../support/mail.js';

const READ_KEY = 'scoped-read-key-0123456789';
const MODIFY_KEY = 'scoped-modify-key-0123456789';

type Folder = { path: string; name: string; delimiter: string; specialUse: string | null; watched: boolean; messages?: number; unseen?: number };

let connectionId: string;

const user = (name: string) => `act-${name}-${randomBytes(3).toString('hex')}@contoso.example`;
const doveadm = () => doveadmFor(sandbox.dovecot.configFile);

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), API_KEYS: `${TEST_API_KEY},read:${READ_KEY},modify:${MODIFY_KEY}` }), () => sandbox.redis);
beforeAll(async () => {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'actions', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().id;
});

/** A mailbox with `count` messages in INBOX (UIDs 1..count), not polled (these tests act). */
async function mailbox(email: string, count = 0, folders?: string[]): Promise<string> {
  for (let i = 1; i <= count; i += 1) await sandbox.dovecot.deliver(email, rawMail(email, `message ${i}`));
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds: 3600, ...(folders ? { folders } : {}), ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, key = TEST_API_KEY) {
  return t.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** UIDs in a folder, with their flags, as Dovecot has them. */
async function stored(email: string, folder: string): Promise<Map<number, string>> {
  // Tab-separated: a header line, then `uid<TAB>flags` (flags space-separated; sorted, \Recent left out, here).
  const out = await doveadm()(['-f', 'tab', 'fetch', '-u', email, 'uid flags', 'mailbox', folder, 'all']);
  const rows = out.split('\n').slice(1).filter((line) => line.trim() !== '').map((line) => line.split('\t'));
  return new Map(rows.map(([uid, flags]) => [Number(uid), (flags ?? '').split(' ').filter((f) => f !== '' && f !== '\\Recent').sort().join(' ')]));
}

const logins = async (): Promise<number> => (await t.deps.metrics.imapLogins.get()).values.filter((v) => v.labels.purpose === 'action').reduce((n, v) => n + v.value, 0);

describe('folders', () => {
  it('lists Exchange\'s folders with their special uses, what is watched, and counts on request', async () => {
    const email = user('folders');
    const id = await mailbox(email, 3, ['INBOX', '\\Sent']);
    await doveadm()(['flags', 'add', '-u', email, '\\Seen', 'mailbox', 'INBOX', 'uid', '1']);
    const res = await call('GET', `/v1/mailboxes/${id}/folders`);
    expect(res.statusCode, res.body).toBe(200);
    const folders: Folder[] = res.json().folders;
    const byPath = new Map(folders.map((f) => [f.path, f]));
    expect(byPath.get('INBOX')).toMatchObject({ name: 'INBOX', delimiter: '/', watched: true });
    expect(byPath.get('Deleted Items')).toMatchObject({ specialUse: '\\Trash', watched: false });
    expect(byPath.get('Sent Items')).toMatchObject({ specialUse: '\\Sent', watched: true });
    expect(byPath.get('Junk Email')).toMatchObject({ specialUse: '\\Junk' });
    expect(byPath.get('Drafts')).toMatchObject({ specialUse: '\\Drafts' });
    expect(byPath.get('Archive')).toMatchObject({ specialUse: '\\Archive' });
    expect(byPath.get('INBOX')).not.toHaveProperty('messages');

    const counted = await call('GET', `/v1/mailboxes/${id}/folders?counts=true`, undefined, READ_KEY);
    expect(counted.statusCode, counted.body).toBe(200);
    const inbox = (counted.json().folders as Folder[]).find((f) => f.path === 'INBOX');
    expect(inbox).toMatchObject({ messages: 3, unseen: 2 });
    expect((await call('GET', `/v1/mailboxes/${id}/folders?counts=maybe`)).statusCode).toBe(400);
    expect((await call('GET', `/v1/mailboxes/${id}/folders?other=1`)).statusCode).toBe(400);
  });

  it('creates folders (nested, with spaces, non-ASCII), 409 when one exists whatever its case', async () => {
    const id = await mailbox(user('create'));
    for (const path of ['Processed/2026', 'Needs Review', 'Réglé/日本語 ✓']) {
      const res = await call('POST', `/v1/mailboxes/${id}/folders`, { path }, MODIFY_KEY);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ path, name: path.split('/').at(-1), delimiter: '/', specialUse: null, watched: false });
    }
    const listed = (await call('GET', `/v1/mailboxes/${id}/folders`)).json().folders.map((f: Folder) => f.path);
    expect(listed).toEqual(expect.arrayContaining(['Processed', 'Processed/2026', 'Needs Review', 'Réglé', 'Réglé/日本語 ✓']));
    for (const path of ['Processed/2026', 'processed/2026', 'INBOX', 'Deleted Items']) {
      const again = await call('POST', `/v1/mailboxes/${id}/folders`, { path });
      expect(again.statusCode, `${path}: ${again.body}`).toBe(409);
      expect(again.json()).toMatchObject({ code: 'folder_exists' });
    }
  });

  it('refuses malformed paths before any IMAP', async () => {
    const id = await mailbox(user('badpath'));
    const before = await logins();
    for (const path of ['', '/Lead', 'Trail/', 'a//b', 'a\u0000b', 'tab\there', 'new\nline', 'wild*', 'per%cent', ' padded', 'x/ y', '\\Trash', 'x'.repeat(256), Array.from({ length: 33 }, () => 'a').join('/'), 'a/../b']) {
      const res = await call('POST', `/v1/mailboxes/${id}/folders`, { path });
      expect(res.statusCode, JSON.stringify(path)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors?.[0]?.field, JSON.stringify(path)).toBe('/body/path');
    }
    for (const payload of [{}, { path: 1 }, { path: 'ok', extra: true }, ['x']]) {
      expect((await call('POST', `/v1/mailboxes/${id}/folders`, payload)).statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect(await logins()).toBe(before);
  });
});

describe('flags', () => {
  it('sets and clears flags, answering them as the server has them', async () => {
    const email = user('flags');
    const id = await mailbox(email, 2);
    const set = await call('PATCH', `/v1/mailboxes/${id}/messages/1`, { seen: true, flagged: true }, MODIFY_KEY);
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({ folder: 'INBOX', uid: 1, flags: expect.arrayContaining(['\\Seen', '\\Flagged']) });
    expect(set.json().flags).toHaveLength(2);
    expect((await stored(email, 'INBOX')).get(1)).toMatch(/\\Seen/);

    // Another client's keyword stays: only the named flags change.
    await doveadm()(['flags', 'add', '-u', email, '$Label1', 'mailbox', 'INBOX', 'uid', '1']);
    const cleared = await call('PATCH', `/v1/mailboxes/${id}/messages/1?folder=INBOX`, { seen: false, answered: true });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().flags.sort()).toEqual(['$Label1', '\\Answered', '\\Flagged']);
    expect((await stored(email, 'INBOX')).get(2)).toBe('');
  });

  it('answers 400 for an empty or wrong body, 404 for an unknown UID, folder or mailbox', async () => {
    const id = await mailbox(user('flag-errors'), 1);
    for (const payload of [{}, { seen: 'yes' }, { seen: true, deleted: true }, null]) {
      const res = await call('PATCH', `/v1/mailboxes/${id}/messages/1`, payload ?? undefined);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const missing = await call('PATCH', `/v1/mailboxes/${id}/messages/99`, { seen: true });
    expect(missing.statusCode, missing.body).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'message_not_found', uid: 99 });
    const noFolder = await call('PATCH', `/v1/mailboxes/${id}/messages/1?folder=Nope`, { seen: true });
    expect(noFolder.statusCode, noFolder.body).toBe(404);
    expect(noFolder.json()).toMatchObject({ code: 'folder_not_found', hint: expect.stringContaining('folders') });
    expect((await call('PATCH', `/v1/mailboxes/${id}/messages/0`, { seen: true })).json().code).toBe('message_not_found');
    expect((await call('PATCH', '/v1/mailboxes/mbx_nope/messages/1', { seen: true })).statusCode).toBe(404);
  });
});

describe('move and delete', () => {
  it('moves by path and by special use, answering the UID in the target (COPYUID)', async () => {
    const email = user('move');
    const id = await mailbox(email, 3);
    await call('POST', `/v1/mailboxes/${id}/folders`, { path: 'Ärger Fälle' });
    const moved = await call('POST', `/v1/mailboxes/${id}/messages/2/move`, { to: 'Ärger Fälle' }, MODIFY_KEY);
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toEqual({ folder: 'Ärger Fälle', uid: 1 });
    expect([...(await stored(email, 'INBOX')).keys()]).toEqual([1, 3]);
    expect([...(await stored(email, 'Ärger Fälle')).keys()]).toEqual([1]);

    const archived = await call('POST', `/v1/mailboxes/${id}/messages/3/move?folder=INBOX`, { to: '\\Archive' });
    expect(archived.json()).toEqual({ folder: 'Archive', uid: 1 });
    // And back, from a folder given by special use.
    const back = await call('POST', `/v1/mailboxes/${id}/messages/1/move?folder=${encodeURIComponent('\\Archive')}`, { to: 'INBOX' });
    expect(back.json()).toEqual({ folder: 'INBOX', uid: 4 });
  });

  it('answers move errors: same folder 400, unknown target or source 404, unknown UID 404', async () => {
    const id = await mailbox(user('move-errors'), 1);
    const same = await call('POST', `/v1/mailboxes/${id}/messages/1/move`, { to: 'inbox' });
    expect(same.statusCode, same.body).toBe(400);
    expect(same.json().errors).toEqual([{ field: '/body/to', message: 'must name another folder than the source' }]);
    const target = await call('POST', `/v1/mailboxes/${id}/messages/1/move`, { to: 'Nowhere' });
    expect(target.statusCode).toBe(404);
    expect(target.json()).toMatchObject({ code: 'folder_not_found', folder: 'Nowhere' });
    expect((await call('POST', `/v1/mailboxes/${id}/messages/1/move?folder=Nowhere`, { to: 'Archive' })).json().code).toBe('folder_not_found');
    expect((await call('POST', `/v1/mailboxes/${id}/messages/7/move`, { to: 'Archive' })).json()).toMatchObject({ code: 'message_not_found' });
    for (const payload of [{}, { to: '' }, { to: 'Archive', also: 1 }]) {
      expect((await call('POST', `/v1/mailboxes/${id}/messages/1/move`, payload)).statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('deletes to Deleted Items, or for good without expunging what another client flagged \\Deleted', async () => {
    const email = user('delete');
    const id = await mailbox(email, 3);
    const trashed = await call('DELETE', `/v1/mailboxes/${id}/messages/1`, undefined, MODIFY_KEY);
    expect(trashed.statusCode, trashed.body).toBe(200);
    expect(trashed.json()).toEqual({ folder: 'Deleted Items', uid: 1 });

    // Another client marks message 3 \Deleted without expunging it; our permanent delete of 2 must leave it.
    await doveadm()(['flags', 'add', '-u', email, '\\Deleted', 'mailbox', 'INBOX', 'uid', '3']);
    const gone = await call('DELETE', `/v1/mailboxes/${id}/messages/2?permanent=true`);
    expect(gone.statusCode, gone.body).toBe(204);
    expect(gone.body).toBe('');
    const left = await stored(email, 'INBOX');
    expect([...left.keys()]).toEqual([3]);
    expect(left.get(3)).toMatch(/\\Deleted/);

    // In Deleted Items already: only for good.
    const again = await call('DELETE', `/v1/mailboxes/${id}/messages/1?folder=${encodeURIComponent('Deleted Items')}`);
    expect(again.statusCode, again.body).toBe(409);
    expect((await call('DELETE', `/v1/mailboxes/${id}/messages/1?folder=${encodeURIComponent('\\Trash')}&permanent=true`)).statusCode).toBe(204);
    expect((await stored(email, 'Deleted Items')).size).toBe(0);
    expect((await call('DELETE', `/v1/mailboxes/${id}/messages/2?permanent=true`)).json().code).toBe('message_not_found');
    expect((await call('DELETE', `/v1/mailboxes/${id}/messages/3?permanent=yes`)).statusCode).toBe(400);
  });
});

describe('bulk actions', () => {
  it('acts on the present UIDs with one command per action, and lists the missing ones', async () => {
    const email = user('bulk');
    const id = await mailbox(email, 5);
    const res = await call('POST', `/v1/mailboxes/${id}/messages/actions`, { folder: 'INBOX', uids: [5, 2, 9, 3, 1000], seen: true, moveTo: '\\Archive' }, MODIFY_KEY);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ done: [2, 3, 5], missing: [9, 1000] });
    expect([...(await stored(email, 'INBOX')).keys()]).toEqual([1, 4]);
    const archive = await stored(email, 'Archive');
    expect([...archive.values()]).toEqual(['\\Seen', '\\Seen', '\\Seen']);

    const flagged = await call('POST', `/v1/mailboxes/${id}/messages/actions`, { uids: [1, 4], flagged: true, seen: false });
    expect(flagged.json()).toEqual({ done: [1, 4], missing: [] });
    expect([...(await stored(email, 'INBOX')).values()]).toEqual(['\\Flagged', '\\Flagged']);

    const none = await call('POST', `/v1/mailboxes/${id}/messages/actions`, { uids: [77, 78], delete: 'permanent' });
    expect(none.json()).toEqual({ done: [], missing: [77, 78] });
    const trashed = await call('POST', `/v1/mailboxes/${id}/messages/actions`, { uids: [1], delete: true });
    expect(trashed.json()).toEqual({ done: [1], missing: [] });
    const purged = await call('POST', `/v1/mailboxes/${id}/messages/actions`, { folder: 'Archive', uids: [1, 2, 3, 4], delete: 'permanent' });
    expect(purged.json()).toEqual({ done: [1, 2, 3], missing: [4] });
    expect((await stored(email, 'Archive')).size).toBe(0);
  });

  it('refuses malformed requests', async () => {
    const id = await mailbox(user('bulk-errors'), 1);
    const many = Array.from({ length: 1001 }, (_, i) => i + 1);
    for (const payload of [
      { uids: [], seen: true }, { uids: many, seen: true }, { uids: [1, 1], seen: true }, { uids: [0], seen: true },
      { uids: [1.5], seen: true }, { uids: [4294967296], seen: true }, { uids: ['1'], seen: true }, { uids: [1] },
      { uids: [1], moveTo: 'Archive', delete: true }, { uids: [1], delete: false }, { uids: [1], delete: 'forever' }, { uids: [1], seen: true, extra: 1 },
    ]) {
      const res = await call('POST', `/v1/mailboxes/${id}/messages/actions`, payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(res.json().errors?.[0]?.field, JSON.stringify(payload).slice(0, 80)).toMatch(/^\/body(\/|$)/);
    }
    const both = await call('POST', `/v1/mailboxes/${id}/messages/actions`, { uids: [1], moveTo: 'Archive', delete: true });
    expect(both.json().errors).toEqual([{ field: '/body/delete', message: 'must not be given with moveTo' }]);
    expect((await call('POST', `/v1/mailboxes/${id}/messages/actions`, { folder: 'Nope', uids: [1], seen: true })).json().code).toBe('folder_not_found');
  });
});

describe('messages that vanish', () => {
  it('a UID expunged between listing and acting is message_not_found, or missing in bulk', async () => {
    const email = user('vanish');
    const id = await mailbox(email, 3);
    const page = await call('GET', `/v1/mailboxes/${id}/messages`);
    expect(page.json().items.map((m: { uid: number }) => m.uid)).toEqual([3, 2, 1]);
    // A first action keeps a session with INBOX selected; then another client expunges 2.
    expect((await call('PATCH', `/v1/mailboxes/${id}/messages/1`, { seen: true })).statusCode).toBe(200);
    await doveadm()(['expunge', '-u', email, 'mailbox', 'INBOX', 'uid', '2']);
    for (const [method, url, payload] of [
      ['PATCH', `/v1/mailboxes/${id}/messages/2`, { flagged: true }],
      ['POST', `/v1/mailboxes/${id}/messages/2/move`, { to: 'Archive' }],
      ['DELETE', `/v1/mailboxes/${id}/messages/2`, undefined],
      ['DELETE', `/v1/mailboxes/${id}/messages/2?permanent=true`, undefined],
    ] as const) {
      const res = await call(method, url, payload);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
      expect(res.json().code).toBe('message_not_found');
    }
    expect((await call('POST', `/v1/mailboxes/${id}/messages/actions`, { uids: [1, 2, 3], moveTo: 'Archive' })).json()).toEqual({ done: [1, 3], missing: [2] });
  });

  it('a message expunged by another client after the session looked but before MOVE is not reported moved', async () => {
    const email = user('race');
    const id = await mailbox(email, 1);
    const token = await t.deps.services.mailboxTokens.tokenFor(id);
    const session = createActionSession({ ...sandbox.mailServers().imap, user: email, accessToken: token.accessToken, ca: t.deps.trust.ca, logger: t.deps.logger });
    await session.connect();
    try {
      expect(await session.existing('INBOX', [1])).toEqual([1]);
      await doveadm()(['expunge', '-u', email, 'mailbox', 'INBOX', 'uid', '1']);
      const moved = await session.move('INBOX', [1], 'Archive');
      // Dovecot has UIDPLUS: no COPYUID means nothing was copied. The domain reads that as "not moved" (404 / missing).
      expect(moved).toEqual({ uidMap: undefined, copyUid: 'absent' });
      expect((await stored(email, 'Archive')).size).toBe(0);
    } finally {
      await session.logout();
    }
  });

  it('moves racing expunges by another client: each either moved (and there) or not found, never reported moved when lost', async () => {
    const email = user('race-api');
    const id = await mailbox(email, 6);
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map(async (uid) => {
      const [res] = await Promise.all([
        call('POST', `/v1/mailboxes/${id}/messages/${uid}/move`, { to: 'Archive' }),
        uid % 2 === 0 ? doveadm()(['expunge', '-u', email, 'mailbox', 'INBOX', 'uid', String(uid)]) : Promise.resolve(''),
      ]);
      return res;
    }));
    const archived = await stored(email, 'Archive');
    const movedUids = results.filter((r) => r.statusCode === 200).map((r) => r.json().uid as number);
    for (const res of results) expect([200, 404], res.body).toContain(res.statusCode);
    expect(movedUids.sort()).toEqual([...archived.keys()].sort());
    expect(results.filter((r, i) => i % 2 === 0).every((r) => r.statusCode === 200)).toBe(true);
  });
});

describe('scope and session reuse', () => {
  it('a read-only key may list folders but not act (403 naming modify); a modify key may not read', async () => {
    const id = await mailbox(user('scope'), 1);
    expect((await call('GET', `/v1/mailboxes/${id}/folders`, undefined, READ_KEY)).statusCode).toBe(200);
    for (const [method, url, payload] of [
      ['PATCH', `/v1/mailboxes/${id}/messages/1`, { seen: true }],
      ['POST', `/v1/mailboxes/${id}/messages/1/move`, { to: 'Archive' }],
      ['DELETE', `/v1/mailboxes/${id}/messages/1`, undefined],
      ['POST', `/v1/mailboxes/${id}/messages/actions`, { uids: [1], seen: true }],
      ['POST', `/v1/mailboxes/${id}/folders`, { path: 'X' }],
    ] as const) {
      const res = await call(method, url, payload, READ_KEY);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json()).toMatchObject({ code: 'forbidden', scope: 'modify' });
    }
    expect((await call('GET', `/v1/mailboxes/${id}/folders`, undefined, MODIFY_KEY)).json()).toMatchObject({ code: 'forbidden', scope: 'read' });
    expect((await call('GET', `/v1/mailboxes/${id}/messages`, undefined, MODIFY_KEY)).statusCode).toBe(403);
  });

  it('logs in once per mailbox, not once per action, and keeps one session to it', async () => {
    const email = user('reuse');
    const id = await mailbox(email, 10);
    const before = await logins();
    for (let uid = 1; uid <= 10; uid += 1) {
      expect((await call('PATCH', `/v1/mailboxes/${id}/messages/${uid}`, { seen: true })).statusCode).toBe(200);
    }
    // Concurrent actions on one mailbox queue for its one session.
    const concurrent = await Promise.all([1, 2, 3, 4, 5].map((uid) => call('PATCH', `/v1/mailboxes/${id}/messages/${uid}`, { flagged: true })));
    expect(concurrent.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    await call('POST', `/v1/mailboxes/${id}/messages/actions`, { uids: [6, 7], moveTo: '\\Archive' });
    await call('GET', `/v1/mailboxes/${id}/folders?counts=true`);
    expect(await logins()).toBe(before + 1);
    const who = (await doveadm()(['who', '-1', email])).split('\n').slice(1).filter((line) => line.trim());
    expect(who).toHaveLength(1);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: t.auth });
    expect(metrics.body).toMatch(/mailsync_imap_logins_total\{purpose="action"\} \d+/);
  });

  it('a mailbox whose IMAP server cannot be reached answers the problem with its hint', async () => {
    const id = await mailbox(user('refused'), 1);
    await t.deps.services.mailboxes.change(id, (m) => ({ ...m, imap: { ...m.imap, port: 1 } }));
    const res = await call('PATCH', `/v1/mailboxes/${id}/messages/1`, { seen: true });
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ code: 'imap_unreachable', hint: expect.stringContaining('IMAP host') });
  });
});
