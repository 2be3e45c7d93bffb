/**
 * How full Redis is: `INFO memory`'s used memory against `maxmemory`. With
 * `maxmemory-policy noeviction` (which the service asks for) Redis refuses
 * writes once used memory passes the limit, so this is how close the
 * service is to answering every change with 503 `storage_full`.
 *
 * Used memory is counted as Redis counts it for that decision: `used_memory`
 * less `mem_not_counted_for_evict` (replication and AOF buffers).
 *
 * Readiness probes and scrapes from every process ask often; one read is
 * shared by the callers of the next `ttlMs`, and concurrent callers share one
 * request. A failed read is not kept. On a Redis Cluster each master has its
 * own limit and refuses writes to its own slots: the fullest one is reported.
 */
import { isCluster, type Redis } from './redis.js';

export interface RedisMemory {
  usedBytes: number;
  /** `maxmemory`; 0 when Redis has no limit (it then grows until the machine runs out). */
  maxBytes: number;
  /** Which master this is, on a cluster (the fullest one). */
  node?: string;
}

type InfoSource = Pick<Redis, 'info'>;

export interface RedisMemoryReaderOptions {
  /** How long one read answers every caller, in ms. @defaultValue 1 000 */
  ttlMs?: number;
  now?: () => number;
}

const field = (info: string, name: string): number | undefined => {
  const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : undefined;
};

/** The numbers of one server's `INFO memory`; undefined when they are not there. */
export function parseInfoMemory(info: string): RedisMemory | undefined {
  const used = field(info, 'used_memory');
  if (used === undefined) return undefined;
  const notCounted = field(info, 'mem_not_counted_for_evict') ?? 0;
  return { usedBytes: Math.max(0, used - notCounted), maxBytes: field(info, 'maxmemory') ?? 0 };
}

/** How full, 0..1 and over; 0 without a limit. */
export function fullness(memory: RedisMemory): number {
  return memory.maxBytes > 0 ? memory.usedBytes / memory.maxBytes : 0;
}

/**
 * Answers undefined when Redis does not tell (INFO disabled or renamed, as some managed Redis do):
 * that is not a failure of Redis. Connection failures are thrown.
 */
async function readNode(node: InfoSource): Promise<RedisMemory | undefined> {
  try {
    return parseInfoMemory(await node.info('memory'));
  } catch (err) {
    if (err instanceof Error && err.name === 'ReplyError') return undefined;
    throw err;
  }
}

export class RedisMemoryReader {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private last: { at: number; memory: RedisMemory | undefined } | undefined;
  private reading: Promise<RedisMemory | undefined> | undefined;

  constructor(private readonly redis: Redis, options: RedisMemoryReaderOptions = {}) {
    this.ttlMs = options.ttlMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** The memory of the server (the fullest master on a cluster); undefined when Redis does not tell. */
  async read(): Promise<RedisMemory | undefined> {
    if (this.last && this.now() - this.last.at < this.ttlMs) return this.last.memory;
    this.reading ??= this.readNow()
      .then((memory) => {
        this.last = { at: this.now(), memory };
        return memory;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  private async readNow(): Promise<RedisMemory | undefined> {
    if (!isCluster(this.redis)) return readNode(this.redis);
    const masters = this.redis.nodes('master');
    const read = await Promise.all(masters.map(async (node): Promise<RedisMemory | undefined> => {
      const memory = await readNode(node);
      return memory && { ...memory, node: `${node.options.host}:${node.options.port}` };
    }));
    const known = read.filter((m): m is RedisMemory => m !== undefined);
    // The fullest by share of its limit; without limits, the largest.
    return known.sort((a, b) => fullness(b) - fullness(a) || b.usedBytes - a.usedBytes)[0];
  }
}
