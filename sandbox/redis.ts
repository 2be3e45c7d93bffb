/**
 * A Redis for tests and the demo, from the cheapest source that works:
 * 1. `REDIS_URL` when set (kind 'external': shared, never stopped by us);
 * 2. a `redis:7-alpine` container when a container engine answers;
 * 3. a private `redis-server` child on a free loopback port (kind 'process').
 *
 * The process kind runs with `--daemonize no` behind a tether (see
 * tethered.ts) so it dies with this process; `--save ""` keeps it from
 * writing RDB snapshots; `appendonly: true` makes data survive restart(),
 * which fault tests use to imitate a Redis restart or outage.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { spawnTethered, type TetheredProcess } from './tethered.js';

export interface SandboxRedis {
  url: string;
  kind: 'external' | 'container' | 'process';
  port?: number;
  stop(): Promise<void>;
  /**
   * Process kind only: stop, then start again on the same port and dir;
   * `downMs`: stay down (connections refused) this long in between.
   */
  restart?(opts?: { downMs?: number }): Promise<void>;
}

export interface StartRedisOptions {
  appendonly?: boolean;
  /** Data dir for the process kind (created if missing, kept on stop); default a fresh temp dir, removed on stop. */
  dir?: string;
  port?: number;
  /**
   * 'process': always a private redis-server child, whatever REDIS_URL or a
   * container engine offer (fault tests need restart() on a fixed dir and port).
   */
  kind?: 'process';
}

/** testcontainers gives up within milliseconds when there is no engine; a hung engine gets this long. */
const RUNTIME_PROBE_TIMEOUT_MS = 3_000;
const READY_TIMEOUT_MS = 10_000;

export async function startRedis(opts: StartRedisOptions = {}): Promise<SandboxRedis> {
  if (opts.kind === 'process') return startProcess(opts);
  const external = process.env.REDIS_URL;
  if (external) return { url: external, kind: 'external', stop: async () => undefined };
  if (await containerRuntimeAvailable()) return startContainer(opts);
  return startProcess(opts);
}

async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const probe = getContainerRuntimeClient();
    probe.catch(() => undefined); // a late rejection after the timeout is not an error
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('container runtime probe timed out')), RUNTIME_PROBE_TIMEOUT_MS);
    });
    try {
      await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return true;
  } catch {
    // "Could not find a working container runtime strategy", or the timeout
    return false;
  }
}

async function startContainer(opts: StartRedisOptions): Promise<SandboxRedis> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('redis:7-alpine')
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', opts.appendonly ? 'yes' : 'no'])
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  const port = container.getMappedPort(6379);
  return {
    url: `redis://${container.getHost()}:${port}`,
    kind: 'container',
    port,
    stop: async () => {
      await container.stop();
    },
  };
}

async function startProcess(opts: StartRedisOptions): Promise<SandboxRedis> {
  const ownDir = !opts.dir;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'mailsync-redis-')));
  await mkdir(dir, { recursive: true });
  const fixedPort = opts.port;
  let port = fixedPort ?? (await freePort());

  const launch = async (): Promise<TetheredProcess> => {
    const server = await spawnTethered('redis-server', [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', opts.appendonly ? 'yes' : 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--logfile', '',
    ]);
    try {
      await waitForPing(port, server);
      return server;
    } catch (err) {
      await server.stop(2_000);
      throw err;
    }
  };

  let server: TetheredProcess;
  try {
    server = await launch();
  } catch (err) {
    // freePort() only says the port was free a moment ago: retry once on a new one.
    if (fixedPort !== undefined || !/in use/i.test(String(err))) throw err;
    port = await freePort();
    server = await launch();
  }

  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    kind: 'process',
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
    restart: async ({ downMs = 0 } = {}) => {
      await server.stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await launch();
    },
  };
}

/** Sends PING over raw TCP until +PONG comes back. */
async function waitForPing(port: number, server: TetheredProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited during startup: ${server.stderrTail()}`);
    if (await pingOnce(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`);
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
