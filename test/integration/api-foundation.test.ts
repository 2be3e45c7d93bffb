/**
 * The API's foundation against a real Redis: API keys, problem details for
 * every client mistake, secrets encrypted at rest and absent from logs.
 */
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/fixtures.js';

const SECRET = 'Xq38Q~SuperSecretValue.abcdefghijklmnop';
const body = {
  name: 'Contoso support',
  flow: 'app_only',
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: SECRET,
};

const t = useTestApp();

function post(payload: string | object, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/v1/connections',
    headers: { ...t.auth, 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

describe('API keys', () => {
  it('answers 401 problem+json without a key', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/connections' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('answers 401 with a wrong key', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/connections', headers: { authorization: 'Bearer wrong-key-0123456789abcd' } });
    expect(res.statusCode).toBe(401);
    expect(res.json().detail).toMatch(/not valid/);
  });

  it('answers 200 with a configured key', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/connections', headers: t.auth });
    expect(res.statusCode).toBe(200);
  });
});

describe('client mistakes are 4xx problems, never 500', () => {
  it('malformed JSON → 400 invalid_json', async () => {
    const res = await post('{"name": ');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'invalid_json', status: 400 });
  });

  it('empty JSON body → 400', async () => {
    const res = await post('');
    expect(res.statusCode).toBe(400);
  });

  it('wrong type → 400 naming the field', async () => {
    const res = await post({ ...body, name: 42 });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: '/body/name' }] });
  });

  it('unknown field → 400 naming the field (not silently dropped)', async () => {
    const res = await post({ ...body, isAdmin: true });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: '/body/isAdmin', message: 'is not a known field' }]);
  });

  it('missing field → 400', async () => {
    const { clientId: _omit, ...rest } = body;
    const res = await post(rest);
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/clientId/);
  });

  it('oversized body → 413', async () => {
    const res = await post({ ...body, name: 'x'.repeat(2 * 1024 * 1024) });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('payload_too_large');
  });

  it('a non-JSON content type → 415', async () => {
    const res = await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
  });

  it('a JSON array or primitive instead of an object → 400', async () => {
    for (const payload of ['[]', '"text"', 'null', '12']) {
      const res = await post(payload);
      expect(res.statusCode, payload).toBe(400);
    }
  });

  it('prototype pollution keys are refused', async () => {
    const res = await post('{"__proto__": {"polluted": true}, "name": "x"}');
    expect(res.statusCode).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('unknown route → 404 problem', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: t.auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('route_not_found');
  });

  it('unknown connection → 404 not_found', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/connections/con_AAAAAAAAAAAAAAAA', headers: t.auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });

  it('a secret ID pasted as the secret → 400 with the hint', async () => {
    const res = await post({ ...body, clientSecret: '8a7b6c5d-1111-2222-3333-444455556666' });
    expect(res.statusCode).toBe(400);
    expect(res.json().hint).toMatch(/Value column/);
  });
});

describe('connections and their secrets', () => {
  it('creates, reads, renames, rotates and deletes; the secret never comes back', async () => {
    const created = await post(body);
    expect(created.statusCode).toBe(201);
    const view = created.json();
    expect(view).toMatchObject({ name: body.name, clientSecretHint: SECRET.slice(-4), authority: `https://login.microsoftonline.com/${body.tenantId}` });
    expect(created.body).not.toContain(SECRET);

    const got = await t.app.inject({ method: 'GET', url: `/v1/connections/${view.id}`, headers: t.auth });
    expect(got.json()).toEqual(view);

    const rotated = await t.app.inject({
      method: 'PATCH', url: `/v1/connections/${view.id}`, headers: t.auth,
      payload: { clientSecret: 'Yz91Q~AnotherSecretValue.0123456789' },
    });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().clientSecretHint).toBe('6789');
    expect((await t.deps.services.connections.credentials(view.id)).credential).toEqual({ type: 'secret', clientSecret: 'Yz91Q~AnotherSecretValue.0123456789' });

    const list = await t.app.inject({ method: 'GET', url: '/v1/connections', headers: t.auth });
    expect(list.json().items.map((c: { id: string }) => c.id)).toContain(view.id);

    const deleted = await t.app.inject({ method: 'DELETE', url: `/v1/connections/${view.id}`, headers: t.auth });
    expect(deleted.statusCode).toBe(204);
    const gone = await t.app.inject({ method: 'GET', url: `/v1/connections/${view.id}`, headers: t.auth });
    expect(gone.statusCode).toBe(404);
  });

  it('stores the secret encrypted: no raw Redis value contains it', async () => {
    const created = (await post(body)).json();
    const keys = await t.deps.redis.keys(`{${t.config.redis.prefix}}*`);
    expect(keys.length).toBeGreaterThan(0);
    let sawEnvelope = false;
    for (const key of keys) {
      const type = await t.deps.redis.type(key);
      const raw = type === 'string' ? await t.deps.redis.get(key) : JSON.stringify(await t.deps.redis.zrange(key, '0', '-1'));
      expect(raw).not.toContain(SECRET);
      expect(raw).not.toContain(SECRET.slice(0, 12));
      if (raw?.includes('ms1.')) sawEnvelope = true;
    }
    expect(sawEnvelope).toBe(true);
    expect((await t.deps.services.connections.credentials(created.id)).credential).toEqual({ type: 'secret', clientSecret: SECRET });
  });

  it('never logs a secret or an API key', async () => {
    await post(body);
    await post({ ...body, extra: SECRET });
    await t.app.inject({ method: 'GET', url: '/v1/connections', headers: { authorization: 'Bearer wrong-but-logged?-0123456789' } });
    const text = t.logs.text();
    expect(t.logs.lines.length).toBeGreaterThan(3);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('test-api-key-0123456789abcdef');
    expect(text).not.toContain('wrong-but-logged');
  });

  it('writes one access line per request: request id, method, scrubbed URL, status and time', async () => {
    const before = t.logs.lines.length;
    // Unknown query parameters are refused (400, with its own 'request refused' line); the access line is written as for any answer, its URL scrubbed.
    await t.app.inject({ method: 'GET', url: '/v1/connections?code=a-secret-code&x=1', headers: { ...t.auth, 'x-request-id': 'access-line-1' } });
    const lines = t.logs.records().slice(before).filter((r) => r.reqId === 'access-line-1' && r.msg === 'request completed');
    expect(lines, JSON.stringify(lines)).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30, msg: 'request completed', reqId: 'access-line-1',
      req: { method: 'GET', url: expect.stringMatching(/^\/v1\/connections\?/) }, res: { statusCode: 400 },
    });
    expect(typeof lines[0]!.responseTime).toBe('number');
    expect(JSON.stringify(lines[0])).not.toContain('a-secret-code');
  });

  it('echoes a tame request id and makes one otherwise', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers['x-request-id']).toBe('abc-123');
    const res2 = await t.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(res2.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('health', () => {
  it('is live and ready with Redis reachable', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
    // Every check is listed to an API key (scope metrics); without one only the failing ones (none).
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).json()).toEqual({ status: 'ok', checks: [] });
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready', headers: t.auth });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toContainEqual({ name: 'redis', ok: true });
    expect(ready.json().checks).toContainEqual({ name: 'redis-memory', ok: true });
  });
});
