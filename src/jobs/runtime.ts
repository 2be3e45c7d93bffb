/**
 * The job runtime: the one place that runs background work. A capability
 * describes its jobs as a JobModule (which queue each handler takes, its
 * sweepers, and what to do around start and stop); the runtime owns the rest:
 * it constructs the BullMQ workers (no `new Worker` anywhere else, see
 * test/unit/job-runtime.test.ts), runs the sweepers (one run at a time each,
 * a failure logged), watches the workers for readiness (roles/worker-watch.ts)
 * and stops everything in order.
 *
 * A module may also run workers it starts and stops itself while it runs
 * (its `dynamicQueues`, through the WorkerControl it gets at start): polling
 * runs one per poll shard the process owns (jobs/polling/shard-owner.ts).
 * They are still made here, watched, and closed at stop.
 *
 * Worker roles start it; API-only processes never do. At start it checks the
 * modules against the queues the service declares: a declared queue without
 * a handler, a handler for an undeclared queue, or two handlers for one
 * queue, and the process refuses to start (jobs would wait forever, or run
 * twice).
 */
import { randomUUID } from 'node:crypto';
import { Worker, type Job, type QueueFactory, type WorkerSettings } from '../adapters/queue/bullmq.js';
import type { ReadinessCheck } from '../roles/readiness-check.js';
import type { Logger } from '../logging/logger.js';
import { startWorkerWatch, type WorkerWatch } from '../roles/worker-watch.js';

/** One queue's handler: its BullMQ worker runs `process` for each job. */
export interface JobHandler<Data = unknown> {
  readonly queue: string;
  /** Returns the job's outcome (kept by BullMQ as its return value); throws to fail or delay it. */
  process(job: Job<Data>, token: string | undefined): Promise<string>;
  readonly settings: WorkerSettings;
  /** Told when a job fails (to log it). */
  failed?(job: Job<Data> | undefined, err: Error): void;
}

/** Work on a timer, in every worker process: re-queues what was lost, admits what became due. */
export interface Sweeper {
  readonly everyMs: number;
  run(): Promise<unknown>;
  /** Told when a run fails (to log it). */
  failed(err: unknown): void;
}

/** A BullMQ worker a module started itself (WorkerControl.start). */
export interface StartedWorker {
  /** Jobs it runs at once from now on. */
  setConcurrency(concurrency: number): void;
  /** Stops taking jobs and lets its running ones finish. Idempotent. */
  close(): Promise<void>;
}

/** What a module gets at start to run the workers of its dynamic queues. */
export interface WorkerControl {
  /** This worker process's id, as its heartbeat names it (roles/heartbeat.ts). */
  readonly workerId: string;
  /** Starts a worker of one of the module's dynamic queues, under the queue prefix `prefix`. */
  start(handler: JobHandler<never>, prefix: string): StartedWorker;
}

export interface JobModule {
  /** A stable name, for logs: the capability's. */
  readonly name: string;
  /** Queues whose workers run from start to stop. */
  readonly handlers: readonly JobHandler<never>[];
  /** Queues whose workers the module starts and stops itself while it runs (WorkerControl.start). */
  readonly dynamicQueues?: readonly string[];
  readonly sweepers?: readonly Sweeper[];
  /** Before its workers start (awaited: a module may start its first dynamic workers here). */
  onStart?(control: WorkerControl): Promise<void> | void;
  /** First thing at stop, before its sweepers and workers stop (stop taking new work). */
  onStopping?(): Promise<void> | void;
  /** Last thing at stop, once its workers let their running jobs finish. */
  onStopped?(): Promise<void> | void;
}

export interface JobRuntimeOptions {
  queues: QueueFactory;
  /** Every queue the service uses: each must have exactly one handler. */
  queueNames: readonly string[];
  logger: Logger;
  /** How often the worker watch looks at the workers (ms). @defaultValue 5 000 */
  watchIntervalMs?: number;
}

interface Running {
  module: JobModule;
  stopping: boolean;
  workers: Worker[];
  timers: NodeJS.Timeout[];
  sweeping: Set<Promise<void>>;
}

/** Throws when a declared queue has no handler, an undeclared queue has one, or a queue has two. */
export function checkHandlers(queueNames: readonly string[], modules: readonly JobModule[]): void {
  const owners = new Map<string, string[]>();
  for (const module of modules) {
    const queues = [...module.handlers.map((h) => h.queue), ...(module.dynamicQueues ?? [])];
    for (const queue of queues) owners.set(queue, [...(owners.get(queue) ?? []), module.name]);
  }
  const problems: string[] = [];
  const missing = queueNames.filter((name) => !owners.has(name));
  if (missing.length > 0) problems.push(`no handler for queue ${missing.join(', ')}`);
  const unknown = [...owners.keys()].filter((name) => !queueNames.includes(name));
  if (unknown.length > 0) problems.push(`handler for undeclared queue ${unknown.join(', ')}`);
  for (const [queue, names] of owners) if (names.length > 1) problems.push(`queue ${queue} handled twice (${names.join(', ')})`);
  if (problems.length > 0) throw new Error(`job runtime not started: ${problems.join('; ')}`);
}

export class JobRuntime {
  private readonly modules = new Map<string, JobModule>();
  private running: Running[] = [];
  private watch: WorkerWatch | undefined;
  private started = false;
  /** The `queue-workers` check: which workers do not run (ok until the runtime starts). */
  readonly readiness: ReadinessCheck;

  constructor(private readonly options: JobRuntimeOptions) {
    this.readiness = {
      name: 'queue-workers',
      check: () => this.watch?.readiness.check() ?? Promise.resolve({ ok: true }),
    };
  }

  register(module: JobModule): void {
    if (this.modules.has(module.name)) throw new Error(`job module ${module.name} registered twice`);
    this.modules.set(module.name, module);
  }

  names(): string[] {
    return [...this.modules.keys()];
  }

  /** The BullMQ workers started so far (the watch reports whether each still runs). */
  activeWorkers(): readonly Worker[] {
    return this.running.flatMap((r) => r.workers);
  }

  /** Throws unless every declared queue has exactly one handler (startAll checks it first). */
  check(): void {
    checkHandlers(this.options.queueNames, [...this.modules.values()]);
  }

  /** `workerId`: this process's id in the worker heartbeats (a random one when it does not beat). */
  async startAll(identity: { workerId?: string } = {}): Promise<void> {
    if (this.started) return;
    this.check();
    this.started = true;
    const workerId = identity.workerId ?? `unlisted:${process.pid}:${randomUUID().slice(0, 8)}`;
    for (const module of this.modules.values()) this.running.push(await this.startModule(module, workerId));
    // A stopped worker makes readiness fail, and is started again.
    this.watch = startWorkerWatch({
      workers: () => this.activeWorkers(),
      logger: this.options.logger,
      ...(this.options.watchIntervalMs ? { intervalMs: this.options.watchIntervalMs } : {}),
    });
  }

  /** Stops taking new work, lets running jobs finish, then lets each module close what it holds. */
  async stopAll(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.watch?.stop();
    const running = this.running.splice(0);
    await Promise.all(running.map((r) => this.stopModule(r)));
  }

  private makeWorker(handler: JobHandler<never>, prefix?: string): Worker {
    const { queues, logger } = this.options;
    const { queue, settings } = handler;
    const worker = new Worker(queue, (job, token) => handler.process(job as Job<never>, token), queues.workerOptions(queue, settings, prefix));
    worker.on('error', (err: Error) => logger.warn({ err, queue, prefix }, 'worker connection error'));
    if (handler.failed) worker.on('failed', (job, err) => handler.failed?.(job as Job<never> | undefined, err));
    return worker;
  }

  private control(running: Running, workerId: string): WorkerControl {
    return {
      workerId,
      start: (handler, prefix) => {
        if (running.stopping) throw new Error(`job module ${running.module.name} is stopping: no worker of ${handler.queue} started`);
        if (!(running.module.dynamicQueues ?? []).includes(handler.queue)) throw new Error(`queue ${handler.queue} is not a dynamic queue of ${running.module.name}`);
        const worker = this.makeWorker(handler, prefix);
        running.workers.push(worker);
        return {
          setConcurrency: (concurrency) => {
            worker.concurrency = concurrency;
          },
          close: async () => {
            await worker.close();
            running.workers = running.workers.filter((w) => w !== worker);
          },
        };
      },
    };
  }

  private async startModule(module: JobModule, workerId: string): Promise<Running> {
    const running: Running = { module, stopping: false, workers: [], timers: [], sweeping: new Set() };
    await module.onStart?.(this.control(running, workerId));
    running.workers.push(...module.handlers.map((handler) => this.makeWorker(handler)));
    for (const sweeper of module.sweepers ?? []) {
      let current: Promise<void> | undefined;
      const timer = setInterval(() => {
        if (current) return;
        const run = sweeper.run()
          .then(() => undefined)
          .catch((err: unknown) => sweeper.failed(err))
          .finally(() => {
            current = undefined;
            running.sweeping.delete(run);
          });
        current = run;
        running.sweeping.add(run);
      }, sweeper.everyMs);
      timer.unref();
      running.timers.push(timer);
    }
    return running;
  }

  private async stopModule(running: Running): Promise<void> {
    running.stopping = true;
    await running.module.onStopping?.();
    for (const timer of running.timers) clearInterval(timer);
    await Promise.all([...running.sweeping]);
    await Promise.all(running.workers.map((w) => w.close()));
    await running.module.onStopped?.();
  }
}
