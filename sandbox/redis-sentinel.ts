/**
 * A local Redis Sentinel setup for tests: one master and one sentinel
 * (`redis-server <conf> --sentinel`) watching it under the name `mailsync`,
 * on free loopback ports in a temp dir. Both run tethered (see tethered.ts).
 * Enough to prove the service finds its master through the sentinel; a
 * failover needs replicas and a quorum, which this does not imitate.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { spawnTethered, type TetheredProcess } from './tethered.js';

const run = promisify(execFile);

export interface SandboxRedisSentinel {
  masterName: string;
  masterPort: number;
  /** `127.0.0.1:port`: the value of REDIS_SENTINELS. */
  sentinels: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

async function waitFor(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis sentinel: ${what} within ${READY_TIMEOUT_MS} ms`);
}

const cli = async (port: number, ...args: string[]): Promise<string> =>
  (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout;

export async function startRedisSentinel(masterName = 'mailsync'): Promise<SandboxRedisSentinel> {
  const dir = await mkdtemp(join(tmpdir(), 'mailsync-redis-sentinel-'));
  const servers: TetheredProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const server of servers.reverse()) await server.stop(5_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [masterPort, sentinelPort] = [await freePort(), await freePort()];
    servers.push(await spawnTethered('redis-server', [
      '--port', String(masterPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', '',
    ]));
    await waitFor('the master answering PING', async () => (await cli(masterPort, 'ping')).trim() === 'PONG');
    // Sentinel rewrites its config file as it learns the topology: it must be its own, writable file.
    const conf = join(dir, 'sentinel.conf');
    await writeFile(conf, [
      `port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${masterName} 5000`, '',
    ].join('\n'));
    servers.push(await spawnTethered('redis-server', [conf, '--sentinel', '--daemonize', 'no', '--logfile', '']));
    await waitFor('the sentinel naming the master', async () =>
      (await cli(sentinelPort, 'sentinel', 'get-master-addr-by-name', masterName)).includes(String(masterPort)));
    return { masterName, masterPort, sentinels: `127.0.0.1:${sentinelPort}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
