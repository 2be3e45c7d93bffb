/**
 * The service as a real process: configuration errors stop it with one line,
 * SIGTERM lets an in-flight request finish, a second signal exits at once,
 * and readiness follows Redis.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../sandbox/ports.js';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { TEST_API_KEY, testEnv } from '../support/app.js';
import { spawnService, type ServiceProcess } from '../support/service-process.js';

type Started = ServiceProcess;

function run(env: Record<string, string>): Started {
  return spawnService(env);
}

async function waitForListening(s: Started): Promise<void> {
  await s.waitForLog('listening');
}

function rawRequest(port: number, head: string): Promise<{ socket: Socket; response: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      const response = new Promise<string>((res) => {
        let data = '';
        socket.on('data', (d) => (data += d.toString()));
        socket.on('close', () => res(data));
      });
      resolve({ socket, response });
    });
    socket.on('error', reject);
  });
}

describe('configuration errors', () => {
  it.each([
    [{}, 'API_KEYS'],
    [{ API_KEYS: TEST_API_KEY }, 'ENCRYPTION_KEY'],
    [{ API_KEYS: TEST_API_KEY, ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'), PORT: 'eighty' }, 'PORT'],
  ])('stop the start with one line naming the variable (%j)', async (env, variable) => {
    const s = run(env);
    expect(await s.exited).toBe(78);
    const lines = s.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^mailsync: configuration error: ${variable} `));
    expect(s.stderr()).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it.each([
    ['names no file that can be read', '/nonexistent/extra-ca.pem', /cannot read/],
    ['names a file without certificates', 'junk', /has none/],
  ])('stop the start with one line when NODE_EXTRA_CA_CERTS %s', async (_, file, detail) => {
    const dir = await mkdtemp(join(tmpdir(), 'mailsync-ca-'));
    try {
      const path = file === 'junk' ? join(dir, 'junk.pem') : file;
      if (file === 'junk') await writeFile(path, 'not a certificate\n');
      const s = run({ ...testEnv('redis://127.0.0.1:1'), NODE_EXTRA_CA_CERTS: path });
      expect(await s.exited).toBe(78);
      // Node itself may warn about a file it cannot load; ours is the one line naming the variable.
      const ours = s.stderr().trim().split('\n').filter((line) => line.startsWith('mailsync:'));
      expect(ours).toHaveLength(1);
      expect(ours[0]).toMatch(/^mailsync: configuration error: NODE_EXTRA_CA_CERTS /);
      expect(ours[0]).toMatch(detail);
      expect(s.stderr()).not.toMatch(/\bat .*\.ts:\d+|"level"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lifecycle', () => {
  let redis: SandboxRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('finishes an in-flight request on SIGTERM, then exits 0', async () => {
    const port = await freePort();
    const s = run(testEnv(redis.url, { PORT: String(port), HOST: '127.0.0.1' }));
    await waitForListening(s);
    const payload = JSON.stringify({
      name: 'x', flow: 'app_only', tenantId: 'contoso.onmicrosoft.com',
      clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'Xq38Q~SuperSecretValue.abcdefghij',
    });
    const half = Math.floor(payload.length / 2);
    const { socket, response } = await rawRequest(port,
      `POST /v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload.slice(0, half)}`);
    await new Promise((r) => setTimeout(r, 200));
    s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.child.exitCode).toBeNull(); // still waiting for the request
    socket.write(payload.slice(half));
    expect(await response).toMatch(/^HTTP\/1.1 201/);
    expect(await s.exited).toBe(0);
    expect(s.stdout()).toContain('"msg":"shut down"');
  });

  it('exits at once on a second signal', async () => {
    const port = await freePort();
    const s = run(testEnv(redis.url, { PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '60000' }));
    await waitForListening(s);
    const { socket } = await rawRequest(port,
      `POST /v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    await new Promise((r) => setTimeout(r, 200));
    s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.child.exitCode).toBeNull();
    const before = Date.now();
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(130);
    expect(Date.now() - before).toBeLessThan(2_000);
    socket.destroy();
  });
});

describe.skipIf(process.env.REDIS_URL !== undefined)('readiness follows Redis', () => {
  it('answers 503 while Redis is down and recovers by itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailsync-redis-'));
    const redisPort = await freePort();
    let own = await startRedis({ appendonly: true, dir, port: redisPort });
    const port = await freePort();
    const s = run(testEnv(own.url, { PORT: String(port), HOST: '127.0.0.1', ROLE: 'all' }));
    try {
      await waitForListening(s);
      const ready = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        return { status: res.status, body: (await res.json()) as { checks: { name: string; ok: boolean }[] } };
      };
      expect((await ready()).status).toBe(200);

      await own.stop();
      const down = await ready();
      expect(down.status).toBe(503);
      expect(down.body.checks.find((c) => c.name === 'redis')?.ok).toBe(false);
      const v1 = await fetch(`http://127.0.0.1:${port}/v1/connections`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
      expect(v1.status).toBe(503);
      expect(((await v1.json()) as { code: string }).code).toBe('dependency_unavailable');

      own = await startRedis({ appendonly: true, dir, port: redisPort });
      let recovered = false;
      for (let i = 0; i < 100 && !recovered; i++) {
        recovered = (await ready()).status === 200;
        if (!recovered) await new Promise((r) => setTimeout(r, 100));
      }
      expect(recovered).toBe(true);
    } finally {
      s.child.kill('SIGKILL');
      await own.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(process.env.REDIS_URL !== undefined)('Redis settings', () => {
  it('warns at start when Redis may evict job state or loses it on restart', async () => {
    const own = await startRedis();
    const port = await freePort();
    const s = run(testEnv(own.url, { PORT: String(port), HOST: '127.0.0.1' }));
    try {
      await waitForListening(s);
      // The sandbox Redis runs without AOF; the default policy noeviction is fine.
      expect(s.stdout()).toContain('without AOF persistence');
      expect(s.stdout()).not.toContain('maxmemory-policy');
    } finally {
      s.child.kill('SIGKILL');
      await own.stop();
    }
  });
});
