/**
 * Watches a worker process's BullMQ workers: readiness says which ones do not
 * run, and a worker that stopped running without being closed is started
 * again, so the process recovers by itself.
 *
 * Why a worker stops: BullMQ ends a worker's main loop when it is paused, and
 * when the loop throws (an unexpected error in its fetch or bookkeeping) it
 * only emits `error` and leaves the worker idle for good. The service never
 * pauses its workers, so either case is a fault: the process would look
 * healthy while it takes no jobs. A closing worker (shutdown) is left alone.
 */
import type { ReadinessCheck } from './readiness-check.js';
import type { Logger } from '../logging/logger.js';

/** What the watch needs of a BullMQ Worker. */
export interface WatchedWorker {
  readonly name: string;
  readonly closing: Promise<void> | undefined;
  isRunning(): boolean;
  isPaused(): boolean;
  run(): Promise<void>;
  resume(): Promise<void>;
}

export interface WorkerWatchOptions {
  workers: () => readonly WatchedWorker[];
  logger: Logger;
  /** How often the workers are looked at (ms). @defaultValue 5 000 */
  intervalMs?: number;
}

export interface WorkerWatch {
  readiness: ReadinessCheck;
  stop(): void;
}

export function startWorkerWatch(options: WorkerWatchOptions): WorkerWatch {
  const stopped = (): WatchedWorker[] => options.workers().filter((w) => !w.closing && !w.isRunning());
  const restart = (): void => {
    for (const worker of stopped()) {
      options.logger.warn({ queue: worker.name, paused: worker.isPaused() }, 'queue worker not running: starting it again');
      // resume() runs the loop again when the worker was paused; run() when its loop ended.
      const again = worker.isPaused() ? worker.resume() : worker.run();
      again.catch((err: unknown) => options.logger.error({ err, queue: worker.name }, 'queue worker stopped'));
    }
  };
  const timer = setInterval(restart, options.intervalMs ?? 5_000);
  timer.unref();
  return {
    readiness: {
      name: 'queue-workers',
      check: async () => {
        const names = stopped().map((w) => w.name);
        return names.length === 0 ? { ok: true } : { ok: false, detail: `not running: ${[...new Set(names)].join(', ')}` };
      },
    },
    stop: () => clearInterval(timer),
  };
}
