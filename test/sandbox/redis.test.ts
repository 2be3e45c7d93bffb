import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { connectionRefused } from '../support/net.js';

const started: SandboxRedis[] = [];
const savedUrl = process.env.REDIS_URL;

async function start(opts?: Parameters<typeof startRedis>[0]): Promise<SandboxRedis> {
  const redis = await startRedis(opts);
  started.push(redis);
  return redis;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('startRedis', () => {
  beforeEach(() => {
    delete process.env.REDIS_URL;
  });
  afterEach(() => {
    if (savedUrl === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = savedUrl;
  });
  afterAll(async () => {
    for (const redis of started) await redis.stop();
  });

  it('starts a private redis-server when REDIS_URL is unset and no container engine answers', async () => {
    const t0 = performance.now();
    const redis = await start();
    console.log(`startRedis (${redis.kind}): ${Math.round(performance.now() - t0)} ms`);
    expect(redis.kind).toBe('process');
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    client.disconnect();

    await redis.stop();
    expect(await connectionRefused(redis.port ?? 0)).toBe(true);
  });

  it('restart() keeps the port, and the data with appendonly', async () => {
    const redis = await start({ appendonly: true });
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    await client.set('survives', '1');
    const t0 = performance.now();
    await redis.restart?.();
    console.log(`redis restart: ${Math.round(performance.now() - t0)} ms`);
    // ioredis reconnects on its own to the same port
    expect(await client.get('survives')).toBe('1');
    client.disconnect();
  });

  it('uses REDIS_URL when set, and never stops it', async () => {
    process.env.REDIS_URL = 'redis://127.0.0.1:1/0';
    const redis = await start();
    expect(redis).toMatchObject({ kind: 'external', url: 'redis://127.0.0.1:1/0' });
    expect(redis.restart).toBeUndefined();
    await expect(redis.stop()).resolves.toBeUndefined();
  });

  it('the server dies with its parent, even on SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailsync-redis-orphan-'));
    const script = join(dir, 'start.mts'); // .mts: the temp dir has no package.json saying "module"
    const moduleUrl = pathToFileURL(join(import.meta.dirname, '../../sandbox/redis.ts')).href;
    await writeFile(
      script,
      `const { startRedis } = await import(${JSON.stringify(moduleUrl)});\n` +
        // a data dir inside ours: the killed parent cannot remove its own
        `const r = await startRedis({ dir: ${JSON.stringify(join(dir, 'data'))} });\n` +
        `console.log(r.port);\nsetInterval(() => {}, 1000);\n`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
    });
    const pids = await serverPids(port);
    expect(pids.length).toBe(1);
    parent.kill('SIGKILL');
    expect(await waitFor(() => pids.every((pid) => !alive(pid)), 5_000)).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });
});

/** Pids of redis-server processes on the port (redis retitles itself "redis-server 127.0.0.1:<port>"). */
async function serverPids(port: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('redis-server') && cmdline.includes(`:${port}`)) pids.push(Number(entry));
  }
  return pids;
}

