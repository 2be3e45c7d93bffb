/**
 * Runs the poll shards this worker process owns. Every `everyMs` it reads
 * the live workers (the heartbeats), computes its shards
 * (shard-assignment.ts), starts a BullMQ worker for each shard it gained and
 * closes the worker of each shard it lost, letting that shard's running polls
 * finish, then drops the shard's kept IMAP sessions, so each mailbox's kept
 * session lives in one process.
 *
 * A worker killed stops beating; once its last beat is older than
 * WORKER_LIVE_MS the others count it out and take its shards on their next
 * look. Its running polls come back through BullMQ's stalled check, and their
 * poll locks lapse. A worker stopping gracefully closes its shard workers and
 * then takes its heartbeat out, so the others take over on their next look.
 * While the live workers cannot be read, ownership stays as it was.
 *
 * Each shard worker runs ⌈POLL_CONCURRENCY / owned shards⌉ polls at once,
 * so the process runs about POLL_CONCURRENCY whatever it owns.
 */
import type { Logger } from '../../logging/logger.js';
import type { StartedWorker } from '../runtime.js';
import { shardsOf } from './shard-assignment.js';

export interface ShardOwnerDeps {
  shards: number;
  /** The ids of the live worker processes (roles/heartbeat.ts). */
  liveWorkers(): Promise<string[]>;
  /** Starts the BullMQ worker of one poll shard. */
  startShard(shard: number, concurrency: number): StartedWorker;
  /** The shards given up, once their workers closed: their kept sessions go. */
  gaveUp(shards: readonly number[]): void;
  /** Polls the process runs at once, over all its shards. */
  concurrency: number;
  /** How often the live workers are read (ms). */
  everyMs: number;
  logger: Logger;
}

export class ShardOwner {
  private readonly running = new Map<number, StartedWorker>();
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private self = '';
  private stopped = true;

  constructor(private readonly deps: ShardOwnerDeps) {}

  /** The shards this process runs now. */
  owned(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  /** Looks at once (settles when the first shard workers started), then every `everyMs`. */
  async start(workerId: string): Promise<void> {
    this.self = workerId;
    this.stopped = false;
    this.timer = setInterval(() => void this.look(), this.deps.everyMs);
    this.timer.unref();
    await this.look();
  }

  /** Stops looking (the job runtime closes the shard workers). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.current;
    this.running.clear();
  }

  /** One look: starts and stops shard workers to match the live workers. One at a time. */
  look(): Promise<void> {
    this.current ??= this.rebalance().finally(() => (this.current = undefined));
    return this.current;
  }

  private async rebalance(): Promise<void> {
    let live: string[];
    try {
      live = await this.deps.liveWorkers();
    } catch (err) {
      this.deps.logger.warn({ err }, 'live workers not read: poll shards kept as they are');
      return;
    }
    if (this.stopped) return;
    const wanted = shardsOf(this.self, live, this.deps.shards);
    const gained = wanted.filter((s) => !this.running.has(s));
    const lost = this.owned().filter((s) => !wanted.includes(s));
    const concurrency = Math.max(1, Math.ceil(this.deps.concurrency / Math.max(1, wanted.length)));
    for (const worker of this.running.values()) worker.setConcurrency(concurrency);
    for (const shard of gained) this.running.set(shard, this.deps.startShard(shard, concurrency));
    if (gained.length === 0 && lost.length === 0) return;
    // Logged once the lost shards' workers closed (their running polls finished): from then on
    // this process polls only the shards it names.
    await Promise.all(lost.map((shard) => {
      const worker = this.running.get(shard)!;
      this.running.delete(shard);
      return worker.close();
    }));
    this.deps.logger.info({ workerId: this.self, workers: new Set([...live, this.self]).size, gained, lost, owned: wanted.length }, 'poll shards changed');
    if (lost.length > 0) this.deps.gaveUp(lost);
  }
}
