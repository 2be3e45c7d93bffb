/** Mailboxes registry against a real Redis: states, rules, and deletion that leaves nothing behind. */
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/fixtures.js';

const t = useTestApp({ POLL_MIN_INTERVAL_SECONDS: '30' });

async function connection(flow: 'app_only' | 'delegated'): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: {
      name: flow, flow, tenantId: flow === 'app_only' ? 'contoso.onmicrosoft.com' : null,
      clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'Xq38Q~SuperSecretValue.abcdefghij',
    },
  });
  return res.json().id as string;
}

function create(payload: object) {
  return t.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload });
}

describe('mailboxes', () => {
  it('an app-only mailbox is active at once, with Exchange defaults', async () => {
    const res = await create({ connectionId: await connection('app_only'), email: 'Support@Contoso.com' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      state: 'active', email: 'support@contoso.com', folders: ['INBOX'], pollIntervalSeconds: 60, flow: 'app_only',
      imap: { host: 'outlook.office365.com', port: 993, secure: true },
      smtp: { host: 'smtp.office365.com', port: 587, secure: false },
      lastPollAt: null, lastError: null, account: null,
    });
  });

  it('a delegated mailbox waits for its user to sign in', async () => {
    const res = await create({ connectionId: await connection('delegated'), email: 'alice@contoso.com' });
    expect(res.json().state).toBe('pending_authorization');
  });

  it('refuses a second mailbox with the same address on one connection', async () => {
    const connectionId = await connection('app_only');
    expect((await create({ connectionId, email: 'dup@contoso.com' })).statusCode).toBe(201);
    const again = await create({ connectionId, email: 'DUP@contoso.com' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('conflict');
  });

  it.each([
    [{ email: 'x@contoso.com', pollIntervalSeconds: 5 }, /pollIntervalSeconds/],
    [{ email: 'not-an-address' }, /email/],
    [{ email: 'x@contoso.com', folders: [] }, /folders/],
    [{ email: 'x@contoso.com', imap: { host: 'h', port: 0, secure: true } }, /port/],
    [{ email: 'x@contoso.com', imap: { host: 'bad host!', port: 993, secure: true } }, /host/],
    [{ email: 'x@contoso.com', unknown: 1 }, /unknown/],
  ])('refuses %j with a 400 naming the field', async (payload, field) => {
    const res = await create({ connectionId: await connection('app_only'), ...payload });
    expect(res.statusCode, res.body).toBe(400);
    expect(JSON.stringify(res.json())).toMatch(field);
  });

  it('refuses an unknown connection with a 400', async () => {
    const res = await create({ connectionId: 'con_AAAAAAAAAAAAAAAA', email: 'x@contoso.com' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].field).toBe('/body/connectionId');
  });

  it('keeps a used connection, and deletes a mailbox without a trace', async () => {
    const connectionId = await connection('app_only');
    const mailbox = (await create({ connectionId, email: 'gone@contoso.com' })).json();
    const busy = await t.app.inject({ method: 'DELETE', url: `/v1/connections/${connectionId}`, headers: t.auth });
    expect(busy.statusCode).toBe(409);

    const before = await t.deps.redis.keys('*');
    expect(before.some((k) => k.includes(mailbox.id))).toBe(true);
    await t.deps.redis.set(t.deps.keys.tokenCache(`mbx:${mailbox.id}`), 'x');
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${mailbox.id}`, headers: t.auth })).statusCode).toBe(204);
    const after = await t.deps.redis.keys('*');
    expect(after.filter((k) => k.includes(mailbox.id) || k.includes('gone@contoso.com'))).toEqual([]);
    for (const key of after.filter((k) => k.startsWith(`{${t.config.redis.prefix}}`))) {
      const type = await t.deps.redis.type(key);
      if (type === 'zset') expect(await t.deps.redis.zrange(key, '0', '-1')).not.toContain(mailbox.id);
      if (type === 'set') expect(await t.deps.redis.smembers(key)).not.toContain(mailbox.id);
    }
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/connections/${connectionId}`, headers: t.auth })).statusCode).toBe(204);
  });

  it('patches the interval and folders', async () => {
    const mailbox = (await create({ connectionId: await connection('app_only'), email: 'p@contoso.com' })).json();
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${mailbox.id}`, headers: t.auth, payload: { pollIntervalSeconds: 120, folders: ['INBOX', '\\Sent'] } });
    expect(res.json()).toMatchObject({ pollIntervalSeconds: 120, folders: ['INBOX', '\\Sent'] });
  });
});

describe('mailboxes: track', () => {
  it('is off by default, with a window of 1,000', async () => {
    const res = await create({ connectionId: await connection('app_only'), email: 'untracked@contoso.com' });
    expect(res.json().track).toEqual({ flags: false, deletions: false, window: 1000 });
  });

  it('is stored on POST, merged on PATCH and returned in every answer', async () => {
    const created = await create({ connectionId: await connection('app_only'), email: 'tracked@contoso.com', track: { flags: true } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().track).toEqual({ flags: true, deletions: false, window: 1000 });
    const id = created.json().id as string;
    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${id}`, headers: t.auth, payload: { track: { deletions: true, window: 250 } } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().track).toEqual({ flags: true, deletions: true, window: 250 });
    const read = await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth });
    expect(read.json().track).toEqual({ flags: true, deletions: true, window: 250 });
    const off = await t.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${id}`, headers: t.auth, payload: { track: { flags: false, deletions: false } } });
    expect(off.json().track).toEqual({ flags: false, deletions: false, window: 250 });
  });

  it.each([
    [{ window: 0 }, '/body/track/window'],
    [{ window: 10_001 }, '/body/track/window'],
    [{ window: 1.5 }, '/body/track/window'],
    [{ window: '100' }, '/body/track/window'],
    [{ flags: 'yes' }, '/body/track/flags'],
    [{ deletions: 1 }, '/body/track/deletions'],
    [{ changes: true }, '/body/track/changes'],
  ])('refuses track %j with a 400 naming %s, on POST and PATCH', async (track, field) => {
    const connectionId = await connection('app_only');
    const res = await create({ connectionId, email: 'bad-track@contoso.com', track });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    const mailbox = (await create({ connectionId, email: 'patch-track@contoso.com' })).json();
    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/mailboxes/${mailbox.id}`, headers: t.auth, payload: { track } });
    expect(patched.statusCode, patched.body).toBe(400);
    expect(patched.json().errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('refuses a track that is not an object', async () => {
    const res = await create({ connectionId: await connection('app_only'), email: 'bad-track2@contoso.com', track: true });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain('/body/track');
  });
});
