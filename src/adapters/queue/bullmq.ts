/**
 * The BullMQ adapter: the only module that creates queues and workers.
 *
 * Every queue uses the key space's queue prefix (a hash tag, so each queue's
 * keys share a Redis Cluster slot) and connection *options*, never a shared
 * ioredis instance: BullMQ duplicates connections for blocking commands and
 * needs `maxRetriesPerRequest: null` on them.
 */
import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import type { Logger } from '../../logging/logger.js';

export type { Job, JobsOptions, Processor } from 'bullmq';
export { Queue, Worker, DelayedError, UnrecoverableError, WaitingError } from 'bullmq';

export interface QueueFactoryOptions {
  redisUrl: string;
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
  private readonly workers: Worker[] = [];

  constructor(private readonly options: QueueFactoryOptions) {}

  private connection(role: string) {
    return {
      url: this.options.redisUrl,
      maxRetriesPerRequest: null,
      connectionName: `mailsync:${this.options.name}:${role}`,
    };
  }

  /** One Queue instance per name and process. */
  queue<Data = unknown>(name: string, defaultJobOptions?: JobsOptions): Queue<Data> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.connection(`queue:${name}`),
        prefix: this.options.prefix,
        ...(defaultJobOptions ? { defaultJobOptions } : {}),
      });
      queue.on('error', (err: Error) => this.options.logger.warn({ err, queue: name }, 'queue connection error'));
      this.queues.set(name, queue);
    }
    return queue as unknown as Queue<Data>;
  }

  worker<Data = unknown, Result = unknown>(name: string, processor: Processor<Data, Result>, settings: WorkerSettings): Worker<Data, Result> {
    const worker = new Worker<Data, Result>(name, processor, {
      connection: this.connection(`worker:${name}`),
      prefix: this.options.prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs ?? 30_000,
      autorun: settings.autorun ?? true,
      ...(settings.limiter ? { limiter: settings.limiter } : {}),
      ...(settings.stalledIntervalMs ? { stalledInterval: settings.stalledIntervalMs } : {}),
      ...(settings.maxStalledCount !== undefined ? { maxStalledCount: settings.maxStalledCount } : {}),
    });
    worker.on('error', (err: Error) => this.options.logger.warn({ err, queue: name }, 'worker connection error'));
    this.workers.push(worker as unknown as Worker);
    return worker;
  }

  /** Stops the workers (letting running jobs finish), then closes the queues. Idempotent. */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.close()));
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close()));
  }
}
