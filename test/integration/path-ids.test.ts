/**
 * Ids in a path that name other records (issue 13). A path id used to become
 * a Redis key as it was: with a connection con_X, `con_X:mailboxes` named its
 * mailbox set (GET, PATCH and DELETE answered 500, WRONGTYPE) and
 * `con_X:address:<email>` named an address claim (400 "not valid JSON").
 * Now an id of another shape is the 404 of an unknown id, answered before any
 * Redis command: MONITOR on a connection of the test's own shows none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MalformedIdError, NotFoundError } from '../../src/errors/errors.js';
import { buildTestApp } from '../support/app.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { dumpRedis } from '../support/redis-dump.js';
import { RedisMonitor } from '../support/redis-monitor.js';

const EMAIL = 'ids@contoso.example';
const DEAD = 'https://127.0.0.1:9';

let monitor: RedisMonitor;
let connection: string;
let mailbox: string;

async function created(url: string, payload: object): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url, headers: t.auth, payload });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

const redis = useRedis();
const t = useTestApp({}, redis);
beforeAll(async () => {
  connection = await created('/v1/connections', {
    name: 'ids', flow: 'app_only', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'Xq38Q~SuperSecretValue.abcdefghij', authorityHost: DEAD,
  });
  mailbox = await created('/v1/mailboxes', { connectionId: connection, email: EMAIL, imap: { host: '127.0.0.1', port: 9, secure: true } });
  monitor = await RedisMonitor.start(redis.url);
});

afterAll(async () => {
  await monitor?.stop();
});

const problemOf = (body: Record<string, unknown>) => {
  const { detail: _detail, instance: _instance, requestId: _requestId, ...rest } = body;
  return rest;
};

/** The request's answer, the Redis commands it caused, and whether anything stored changed. */
async function observe(method: 'GET' | 'PATCH' | 'DELETE' | 'POST', url: string, payload?: object) {
  const before = await dumpRedis(t.deps.redis);
  const { result: res, commands } = await monitor.during(() => t.app.inject({ method, url, headers: t.auth, ...(payload ? { payload } : {}) }));
  const after = await dumpRedis(t.deps.redis);
  return { res, commands, unchanged: JSON.stringify([...after].sort()) === JSON.stringify([...before].sort()) };
}

describe('an id naming another record of an existing connection', () => {
  it('GET, PATCH and DELETE /v1/connections/{id}:mailboxes answer 404 not_found, as an unknown id, without a Redis command', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: '/v1/connections/con_AAAAAAAAAAAAAAAA', headers: t.auth });
    expect(unknown.statusCode).toBe(404);
    for (const [method, payload] of [['GET'], ['PATCH', { name: 'renamed' }], ['DELETE']] as const) {
      const { res, commands, unchanged } = await observe(method, `/v1/connections/${connection}:mailboxes`, payload);
      expect(res.statusCode, `${method}: ${res.body}`).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(problemOf(res.json())).toEqual(problemOf(unknown.json()));
      expect(res.json()).toMatchObject({ code: 'not_found', resource: 'Connection', detail: `Connection ${connection}:mailboxes does not exist.` });
      expect(commands, method).toEqual([]);
      expect(unchanged, method).toBe(true);
    }
    // The records are intact: the connection is still used by its mailbox.
    expect((await t.app.inject({ method: 'GET', url: `/v1/connections/${connection}`, headers: t.auth })).json()).toMatchObject({ name: 'ids' });
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/connections/${connection}`, headers: t.auth })).statusCode).toBe(409);
  });

  it('GET /v1/connections/{id}:address:<email> answers 404 not_found without a Redis command', async () => {
    for (const url of [`/v1/connections/${connection}:address:${EMAIL}`, `/v1/connections/${connection}%3Aaddress%3A${encodeURIComponent(EMAIL)}`]) {
      const { res, commands, unchanged } = await observe('GET', url);
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json()).toMatchObject({ code: 'not_found', resource: 'Connection', status: 404 });
      expect(commands).toEqual([]);
      expect(unchanged).toBe(true);
    }
  });

  it('a well-formed unknown id does reach Redis: the observation sees commands when there are some', async () => {
    const { res, commands } = await observe('GET', '/v1/connections/con_AAAAAAAAAAAAAAAA');
    expect(res.statusCode).toBe(404);
    expect(commands.map((c) => c.args[0]?.toLowerCase())).toContain('get');
  });
});

describe('every kind of path id', () => {
  it('answers 404 for an id of another shape on each kind of route, before any Redis command', async () => {
    const cases: [method: 'GET' | 'PATCH' | 'DELETE' | 'POST', url: string, payload?: object][] = [
      ['GET', `/v1/mailboxes/${mailbox}:x`],
      ['PATCH', `/v1/mailboxes/${mailbox}}`, { pollIntervalSeconds: 120 }],
      ['POST', `/v1/mailboxes/${connection}/pause`],
      ['POST', `/v1/mailboxes/${mailbox}%7D/poll`],
      ['GET', `/v1/mailboxes/${mailbox}*/messages`],
      ['GET', '/v1/webhooks/whk_AAAAAAAAAAAAAAAA:health'],
      ['GET', '/v1/webhooks/whk_AAAAAAAAAAAAAAAA/deliveries/dlv_AAAAAAAAAAAAAAA%2F'],
      ['GET', '/v1/send/snd_AAAAAAAAAAAAAAAA:content'],
      ['GET', `/v1/connections/${'con_'.padEnd(80, 'A')}`],
    ];
    for (const [method, url, payload] of cases) {
      const { res, commands, unchanged } = await observe(method, url, payload);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
      expect(res.json(), url).toMatchObject({ code: 'not_found' });
      expect(commands, url).toEqual([]);
      expect(unchanged, url).toBe(true);
    }
  });

  it('answers 404 message_not_found for a UID that is not a decimal integer from 1 to 2^32-1, before any Redis command', async () => {
    for (const uid of ['0', '4294967296', '-1', '1.5', '0x10', '1e3', '01', '%201', '1:x', 'x']) {
      const { res, commands } = await observe('GET', `/v1/mailboxes/${mailbox}/messages/${uid}/raw`);
      expect(res.statusCode, `${uid}: ${res.body}`).toBe(404);
      expect(res.json(), uid).toMatchObject({ code: 'message_not_found' });
      expect(commands, uid).toEqual([]);
    }
  });

  it('answers the sign-in start with a 404 page for a malformed connection id, without a Redis command', async () => {
    const signIn = await buildTestApp(redis.url, { LOGIN_RETURN_TO_ALLOWLIST: 'https://app.example/' });
    try {
      const url = `/v1/connections/${connection}:mailboxes/login?returnTo=${encodeURIComponent('https://app.example/after')}`;
      const { result: res, commands } = await monitor.during(() => signIn.app.inject({ method: 'GET', url }));
      expect(res.statusCode, res.body).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(commands).toEqual([]);
    } finally {
      await signIn.close();
    }
  });
});

describe('the last line: keys and repositories', () => {
  it('no key is built from an id of another shape', () => {
    const { keys } = t.deps;
    expect(() => keys.connection(`${connection}:mailboxes`)).toThrow(MalformedIdError);
    expect(() => keys.connectionMailboxes(`${connection}}`)).toThrow(MalformedIdError);
    expect(() => keys.mailboxAddress(`${connection}:x`, EMAIL)).toThrow(MalformedIdError);
    expect(() => keys.mailbox(connection)).toThrow(MalformedIdError);
    expect(() => keys.pollLock(`${mailbox} `)).toThrow(MalformedIdError);
    expect(() => keys.webhook('whk_AAAAAAAAAAAAAAAA:x')).toThrow(MalformedIdError);
    expect(() => keys.webhookDelivery.index('whk_AAAAAAAAAAAAAAA')).toThrow(MalformedIdError);
    expect(() => keys.webhookDelivery.record('dlv_AAAAAAAAAAAAAAAA}')).toThrow(MalformedIdError);
    expect(() => keys.send.content('snd_AAAAAAAAAAAAAAAA:x')).toThrow(MalformedIdError);
    expect(() => keys.send.rateMessages('mbx_AAAAAAAAAAAAAAAA{x}')).toThrow(MalformedIdError);
    expect(keys.connection(connection)).toContain(connection);
  });

  it('the services answer not found for such an id without a Redis command', async () => {
    const { services } = t.deps;
    const { result, commands } = await monitor.during(async () => Promise.allSettled([
      services.connections.get(`${connection}:mailboxes`),
      services.connections.delete(`${connection}:mailboxes`),
      services.mailboxes.get(`${mailbox}:x`),
      services.mailboxes.pause(`${mailbox}:x`),
      t.deps.sending.service.view('snd_AAAAAAAAAAAAAAAA:content'),
    ]));
    for (const outcome of result) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError);
    }
    expect(commands).toEqual([]);
  });

  it('a send or a mailbox naming such an id in its body is refused as an unknown one, without a Redis command', async () => {
    const { result: send, commands: sendCommands } = await monitor.during(() => t.app.inject({
      method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId: `${mailbox}:x`, to: ['a@example.com'], subject: 's', text: 't' },
    }));
    expect(send.statusCode, send.body).toBe(400);
    expect(send.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: '/body/mailboxId' }] });
    expect(sendCommands).toEqual([]);
    const { result: box, commands: boxCommands } = await monitor.during(() => t.app.inject({
      method: 'POST', url: '/v1/mailboxes', headers: t.auth, payload: { connectionId: `${connection}:mailboxes`, email: 'other@contoso.example' },
    }));
    expect(box.statusCode, box.body).toBe(400);
    expect(box.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: '/body/connectionId' }] });
    expect(boxCommands).toEqual([]);
  });
});
