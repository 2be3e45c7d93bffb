/**
 * ENCRYPTION_KEY changed without the old key in ENCRYPTION_KEY_PREVIOUS: the
 * service still starts, but says so. Records are written with key A, then the
 * service is started again (as production starts it: startService) with key B
 * alone: one error log line names A's key id and the fix, /health/ready is 503
 * naming `encryption-keys` (only the name without an API key with the metrics
 * scope; the detail with one, and always on a worker's own port), verify and
 * the API answer decryption_failed with the key id and the hint, and the
 * mailbox's lastError carries them too. With ENCRYPTION_KEY_PREVIOUS=A it is
 * ready again; deleting the records also clears it. No key is ever logged.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { loadConfig } from '../../src/config/config.js';
import { keyIdOf } from '../../src/crypto/envelope.js';
import { createLogger } from '../../src/logging/logger.js';
import { startService, type RunningService } from '../../src/server.js';
import { testEnv, TEST_API_KEY } from '../support/app.js';
import { captureLogs, type LogCapture } from '../support/logs.js';

const SEND_KEY = 'send-only-key-0123456789abcdef';
const METRICS_KEY = 'metrics-only-key-0123456789abcdef';
const keyA = randomBytes(32);
const keyB = randomBytes(32);
const idA = keyIdOf(keyA);

let redis: SandboxRedis;
let base: Record<string, string>;
const running: RunningService[] = [];

async function start(env: Record<string, string>): Promise<{ service: RunningService; logs: LogCapture; url: string }> {
  const logs = captureLogs();
  const config = loadConfig({ ...base, ...env });
  const service = await startService(config, createLogger({ level: 'info' }, logs.stream));
  running.push(service);
  return { service, logs, url: service.url! };
}

async function stopAll(): Promise<void> {
  while (running.length > 0) await running.pop()!.close();
}

async function call(url: string, path: string, options: { key?: string; method?: string; body?: unknown } = {}) {
  const res = await fetch(`${url}${path}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

const keyErrors = (logs: LogCapture) => logs.records().filter((r) => Number(r.level) >= 50 && r.keyId !== undefined);

beforeAll(async () => {
  redis = await startRedis();
  base = testEnv(redis.url, {
    HOST: '127.0.0.1', PORT: '0', ROLE: 'api',
    API_KEYS: [TEST_API_KEY, `send:${SEND_KEY}`, `metrics:${METRICS_KEY}`].join(','),
  });
});

afterEach(stopAll);

afterAll(async () => {
  await stopAll();
  await redis?.stop();
});

describe('a changed ENCRYPTION_KEY', () => {
  let connectionId: string;
  let mailboxId: string;

  it('is ready with the key that wrote the records', async () => {
    const a = await start({ ENCRYPTION_KEY: keyA.toString('base64') });
    const conn = await call(a.url, '/v1/connections', {
      key: TEST_API_KEY, method: 'POST',
      body: { name: 'old key', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: 'https://localhost:1' },
    });
    expect(conn.status, conn.text).toBe(201);
    connectionId = conn.json.id;
    const mailbox = await call(a.url, '/v1/mailboxes', {
      key: TEST_API_KEY, method: 'POST',
      body: { connectionId, email: 'old-key@contoso.example', imap: { host: '127.0.0.1', port: 9, secure: true }, smtp: { host: '127.0.0.1', port: 9, secure: false } },
    });
    expect(mailbox.status, mailbox.text).toBe(201);
    mailboxId = mailbox.json.id;
    expect((await call(a.url, '/health/ready')).json).toEqual({ status: 'ok', checks: [] });
    const detailed = await call(a.url, '/health/ready', { key: METRICS_KEY });
    expect(detailed.json.checks).toContainEqual({ name: 'encryption-keys', ok: true });
    expect(keyErrors(a.logs)).toEqual([]);
  });

  it('started with another key alone: one error naming the key id and the fix, readiness 503, answers with the hint', async () => {
    const b = await start({ ENCRYPTION_KEY: keyB.toString('base64') });
    // One line at start, naming A's id and ENCRYPTION_KEY_PREVIOUS.
    const errors = keyErrors(b.logs);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ keyId: idA, currentKeyId: keyIdOf(keyB) });
    expect(String(errors[0]!.msg)).toContain('ENCRYPTION_KEY_PREVIOUS');

    // Without a key (or with a key lacking the metrics scope): the status and the failing check's name.
    for (const key of [undefined, SEND_KEY, 'not-a-key-0123456789abcdef']) {
      const anonymous = await call(b.url, '/health/ready', key ? { key } : {});
      expect(anonymous.status).toBe(503);
      expect(anonymous.json).toEqual({ status: 'unavailable', checks: [{ name: 'encryption-keys', ok: false }] });
      expect(anonymous.text).not.toContain(idA);
    }
    // With the metrics scope (or a key with every scope): every check and the detail.
    for (const key of [METRICS_KEY, TEST_API_KEY]) {
      const detailed = await call(b.url, '/health/ready', { key });
      expect(detailed.status).toBe(503);
      expect(detailed.json.checks).toContainEqual({ name: 'redis', ok: true });
      const check = (detailed.json.checks as { name: string; ok: boolean; detail?: string }[]).find((c) => c.name === 'encryption-keys');
      expect(check).toMatchObject({ ok: false, detail: expect.stringContaining(idA) });
      expect(check!.detail).toContain('ENCRYPTION_KEY_PREVIOUS');
    }

    // The connections still list; verify names the problem, its key id and the fix.
    expect((await call(b.url, '/v1/connections', { key: TEST_API_KEY })).status).toBe(200);
    const verify = await call(b.url, `/v1/connections/${connectionId}/verify`, { key: TEST_API_KEY, method: 'POST' });
    expect(verify.status, verify.text).toBe(200);
    expect(verify.json.ok).toBe(false);
    expect(verify.json.problems).toEqual([{
      code: 'decryption_failed',
      detail: expect.stringContaining(idA),
      hint: expect.stringMatching(new RegExp(`ENCRYPTION_KEY_PREVIOUS.*${idA}`)),
    }]);
    expect(verify.text).not.toContain('The service failed to handle this request');

    // An API answer that needs the mailbox's token: a problem with the code, the hint and the key id.
    const messages = await call(b.url, `/v1/mailboxes/${mailboxId}/messages`, { key: TEST_API_KEY });
    expect(messages.status).toBe(500);
    expect(messages.json).toMatchObject({ code: 'decryption_failed', keyId: idA, hint: expect.stringContaining('ENCRYPTION_KEY_PREVIOUS') });
    // ... recorded on the mailbox, as a poll or a send records it.
    const mailbox = await call(b.url, `/v1/mailboxes/${mailboxId}`, { key: TEST_API_KEY });
    expect(mailbox.json.lastError).toMatchObject({ code: 'decryption_failed', hint: expect.stringContaining(idA) });

    // A worker's own port shows the detail without a key.
    const worker = await start({ ENCRYPTION_KEY: keyB.toString('base64'), ROLE: 'worker' });
    const ops = await call(worker.url, '/health/ready');
    expect(ops.status).toBe(503);
    expect(ops.json.checks).toContainEqual({ name: 'encryption-keys', ok: false, detail: expect.stringContaining(idA) });

    // Probes look again while it fails, and the error is not logged again.
    await call(b.url, '/health/ready');
    expect(keyErrors(b.logs)).toHaveLength(1);
    // No key, in any encoding, was logged.
    for (const logs of [b.logs, worker.logs]) {
      for (const key of [keyA, keyB]) {
        for (const encoding of ['base64', 'base64url', 'hex'] as const) expect(logs.text()).not.toContain(key.toString(encoding));
      }
    }
  });

  it('is ready again with the old key in ENCRYPTION_KEY_PREVIOUS', async () => {
    const fixed = await start({ ENCRYPTION_KEY: keyB.toString('base64'), ENCRYPTION_KEY_PREVIOUS: keyA.toString('base64') });
    const ready = await call(fixed.url, '/health/ready', { key: METRICS_KEY });
    expect(ready.status, ready.text).toBe(200);
    expect(ready.json.checks).toContainEqual({ name: 'encryption-keys', ok: true });
    expect(keyErrors(fixed.logs)).toEqual([]);
  });

  it('is ready again, at the next probe, once the records written with the lost key are deleted', async () => {
    const b = await start({ ENCRYPTION_KEY: keyB.toString('base64') });
    expect((await call(b.url, '/health/ready')).status).toBe(503);
    expect((await call(b.url, `/v1/mailboxes/${mailboxId}`, { key: TEST_API_KEY, method: 'DELETE' })).status).toBe(204);
    expect((await call(b.url, `/v1/connections/${connectionId}`, { key: TEST_API_KEY, method: 'DELETE' })).status).toBe(204);
    const ready = await call(b.url, '/health/ready');
    expect(ready.status, ready.text).toBe(200);
    expect(ready.json).toEqual({ status: 'ok', checks: [] });
  });
});
