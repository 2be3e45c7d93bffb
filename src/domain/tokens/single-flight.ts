/**
 * Single flight, in a process and across processes: concurrent callers for
 * one key share one run. In-process callers share the promise; other
 * processes wait for the Redis lock to go away and then run themselves, by
 * which time the shared cache answers without a network request.
 */
import type { RedisLock } from '../../store/lock.js';

export interface SingleFlightOptions {
  lock: RedisLock;
  /** Longest a holder may take before its lock expires (ms). */
  lockTtlMs: number;
  /** Longest a caller waits for another holder before running anyway (ms). */
  maxWaitMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SingleFlight {
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(private readonly options: SingleFlightOptions) {}

  run<T>(lockKey: string, work: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(lockKey);
    if (running) return running as Promise<T>;
    const promise = this.acrossProcesses(lockKey, work).finally(() => this.inflight.delete(lockKey));
    this.inflight.set(lockKey, promise);
    return promise;
  }

  private async acrossProcesses<T>(lockKey: string, work: () => Promise<T>): Promise<T> {
    const { lock, lockTtlMs, maxWaitMs } = this.options;
    const deadline = Date.now() + maxWaitMs;
    let pause = 10;
    for (;;) {
      const lease = await lock.acquire(lockKey, lockTtlMs);
      if (lease) {
        try {
          return await work();
        } finally {
          await lock.release(lease).catch(() => undefined);
        }
      }
      if (Date.now() > deadline) return work();
      await sleep(pause);
      pause = Math.min(pause * 2, 200);
    }
  }
}
