/**
 * A local Redis Cluster for tests: N masters (and, when asked, one replica
 * each, for failovers) from Debian's
 * `redis-server`, on free loopback ports in a temp dir, joined with
 * `redis-cli --cluster create`, ready once every node says `cluster_state:ok`.
 *
 * Each node's cluster bus port is chosen too (`--cluster-port`, Redis 7):
 * the default, port + 10000, may be taken or beyond 65535 for an ephemeral
 * port. Nodes run tethered (see tethered.ts): they die with this process.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { spawnTethered, type TetheredProcess } from './tethered.js';

const run = promisify(execFile);

export interface SandboxRedisCluster {
  /** Every node, masters first (as created; a failover changes which is which). */
  nodes: { host: string; port: number }[];
  /** Kills one node with SIGKILL (a master's failure: its replica, if any, takes over after the node timeout). */
  kill(port: number): void;
  /**
   * Fails a master over to its replica (CLUSTER FAILOVER on the replica: the planned kind, as for
   * an upgrade); settles with the replica's port once it is the master. Needs `replicas`.
   */
  failover(masterPort: number): Promise<number>;
  /** `127.0.0.1:p1,127.0.0.1:p2,…`: the value of REDIS_CLUSTER_NODES. */
  seeds: string;
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** @defaultValue 3 (the fewest masters Redis Cluster accepts) */
  masters?: number;
  /** One replica per master (a failover test): twice the nodes. @defaultValue false */
  replicas?: boolean;
  /** Extra `redis-server` arguments for every node, e.g. `['--maxmemory-policy', 'allkeys-lru']`. */
  args?: string[];
}

const READY_TIMEOUT_MS = 20_000;

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function waitFor(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis cluster: ${what} within ${READY_TIMEOUT_MS} ms`);
}

export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<SandboxRedisCluster> {
  const masters = options.masters ?? 3;
  const dir = await mkdtemp(join(tmpdir(), 'mailsync-redis-cluster-'));
  const servers: TetheredProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop(5_000)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    const count = options.replicas ? masters * 2 : masters;
    for (let i = 0; i < count; i++) {
      const [port, bus] = [await freePort(), await freePort()];
      const nodeDir = join(dir, `node-${i}`);
      await mkdir(nodeDir);
      servers.push(await spawnTethered('redis-server', [
        '--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no',
        '--dir', nodeDir, '--daemonize', 'no', '--logfile', '', ...(options.args ?? []),
      ]));
      ports.push(port);
    }
    for (const port of ports) await waitFor(`node ${port} answering PING`, async () => (await cli(port, 'ping')).trim() === 'PONG');
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', options.replicas ? '1' : '0', '--cluster-yes'], { timeout: 30_000 });
    for (const port of ports) await waitFor(`node ${port} reporting cluster_state:ok`, async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'));
    if (options.replicas) {
      // Every master has its replica in sync before a test may fail one over.
      for (const port of ports) {
        await waitFor(`node ${port} a synced master or replica`, async () => {
          const info = await cli(port, 'info', 'replication');
          return info.includes('role:slave') ? info.includes('master_link_status:up') : /connected_slaves:1/.test(info);
        });
      }
    }
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    const kill = (port: number): void => {
      const server = servers[ports.indexOf(port)];
      if (server) process.kill(server.pid, 'SIGKILL');
    };
    const failover = async (masterPort: number): Promise<number> => {
      const lines = (await cli(masterPort, 'cluster', 'nodes')).split('\n');
      const masterId = lines.find((l) => l.includes('myself'))?.split(' ')[0];
      const replica = lines.find((l) => masterId && l.includes(` ${masterId} `) && l.includes('slave'));
      const port = Number(/:(\d+)@/.exec(replica ?? '')?.[1]);
      if (!masterId || !Number.isInteger(port)) throw new Error(`redis cluster: no replica of the master on port ${masterPort}`);
      await cli(port, 'cluster', 'failover');
      await waitFor(`node ${port} promoted to master`, async () => (await cli(port, 'info', 'replication')).includes('role:master'));
      return port;
    };
    return { nodes, kill, failover, seeds: nodes.map((n) => `${n.host}:${n.port}`).join(','), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
