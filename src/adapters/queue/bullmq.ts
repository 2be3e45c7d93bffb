/**
 * The BullMQ adapter: the only module that creates queues, and the one that
 * says how a worker connects (the job runtime, jobs/runtime.ts, makes them).
 *
 * Every queue uses the key space's queue prefix (a hash tag, so each queue's
 * keys share a Redis Cluster slot), or a prefix of its own (a poll shard's
 * tag, so the shards spread over a cluster's masters) and, on one server or with Sentinel,
 * connection *options*, never a shared ioredis instance: BullMQ duplicates
 * connections for blocking commands and needs `maxRetriesPerRequest: null`.
 *
 * On a Redis Cluster, options are not enough: BullMQ turns options into a
 * plain `new Redis(...)`, never a Cluster. So the factory makes one ioredis
 * Cluster (queue kind: `maxRetriesPerRequest: null` in its `redisOptions`)
 * and hands that *instance* to every queue and worker. Queues share it;
 * each worker duplicates it twice (its main and its blocking connection) and
 * closes its duplicates itself; the factory closes the shared one last.
 */
import { Queue, type ConnectionOptions, type JobsOptions, type WorkerOptions } from 'bullmq';
import type { Logger } from '../../logging/logger.js';
import { closeRedis, createRedis, sentinelOptions, type Redis, type RedisTarget } from '../redis/redis.js';

/** Events kept in each queue's event stream (BullMQ trims it to about this many; its default is 10,000). */
export const QUEUE_EVENTS_KEPT = 100;

export type { Job, JobsOptions, JobType, Processor, WorkerOptions } from 'bullmq';
export { Queue, Worker, DelayedError, UnrecoverableError, WaitingError } from 'bullmq';

export interface QueueFactoryOptions {
  /** Where Redis is: a URL (one server), or the config's `redis` (one server, cluster or sentinel). */
  redis: RedisTarget;
  prefix: string;
  logger: Logger;
  /** Connection name suffix, to tell processes apart in CLIENT LIST. */
  name: string;
}

export interface WorkerSettings {
  concurrency: number;
  /** Lock duration (ms): a job whose worker stops renewing it becomes stalled and is retried. */
  lockDurationMs?: number;
  limiter?: WorkerOptions['limiter'];
  /** How often the worker looks for stalled jobs (ms). @defaultValue 30 000 */
  stalledIntervalMs?: number;
  /** How many times a job may stall (its worker died) and be run again before it fails. @defaultValue 1 */
  maxStalledCount?: number;
  autorun?: boolean;
}

export class QueueFactory {
  private readonly queues = new Map<string, Queue>();
  /** Cluster mode: the one Cluster instance every queue and worker starts from, made on first use. */
  private cluster: Redis | undefined;

  constructor(private readonly options: QueueFactoryOptions) {}

  private connection(role: string): ConnectionOptions {
    const target = this.options.redis;
    const connectionName = `mailsync:${this.options.name}:${role}`;
    if (typeof target === 'string') return { url: target, maxRetriesPerRequest: null, connectionName };
    if (target.cluster) {
      this.cluster ??= createRedis(target, 'queue', `${this.options.name}:queues`);
      return this.cluster;
    }
    // ioredis allows `retryStrategy: null`, BullMQ's copy of the type does not: the same object either way.
    if (target.sentinel) return sentinelOptions('queue', `${this.options.name}:${role}`, target.sentinel) as ConnectionOptions;
    return { url: target.url, maxRetriesPerRequest: null, connectionName };
  }

  /**
   * One Queue instance per name, prefix and process. `prefix`: the queue's own key prefix (a
   * hash tag) instead of the service's queue prefix.
   */
  queue<Data = unknown>(name: string, defaultJobOptions?: JobsOptions, prefix: string = this.options.prefix): Queue<Data> {
    const id = `${prefix}\0${name}`;
    let queue = this.queues.get(id);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.connection(`queue:${name}`),
        prefix,
        // Nothing here reads a queue's event stream (no QueueEvents): BullMQ's default keeps 10,000
        // events per queue, about 1.5 MB each, and with a queue per poll shard that was a third of
        // Redis's memory per mailbox at 10,000 mailboxes (bench/poll --phase scale).
        streams: { events: { maxLen: QUEUE_EVENTS_KEPT } },
        ...(defaultJobOptions ? { defaultJobOptions } : {}),
      });
      queue.on('error', (err: Error) => this.options.logger.warn({ err, queue: name, prefix }, 'queue connection error'));
      this.queues.set(id, queue);
    }
    return queue as unknown as Queue<Data>;
  }

  /**
   * What a worker of queue `name` is made with (its connection, the prefix, the settings). The
   * job runtime (jobs/runtime.ts) makes every worker from these; it closes them before close().
   */
  workerOptions(name: string, settings: WorkerSettings, prefix: string = this.options.prefix): WorkerOptions {
    return {
      connection: this.connection(`worker:${name}`),
      prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs ?? 30_000,
      autorun: settings.autorun ?? true,
      ...(settings.limiter ? { limiter: settings.limiter } : {}),
      ...(settings.stalledIntervalMs ? { stalledInterval: settings.stalledIntervalMs } : {}),
      ...(settings.maxStalledCount !== undefined ? { maxStalledCount: settings.maxStalledCount } : {}),
    };
  }

  /** Closes the queues (the job runtime has closed the workers), then a cluster's shared connection. Idempotent. */
  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close()));
    const cluster = this.cluster;
    this.cluster = undefined;
    if (cluster) await closeRedis(cluster);
  }
}
