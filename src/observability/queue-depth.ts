/**
 * Queue depths for `mailsync_queue_jobs{queue,state}`, read from BullMQ when
 * /metrics is scraped. Labels stay bounded: the queues are the service's own
 * fixed list and the states BullMQ's fixed set.
 *
 * A scrape must not hang on Redis (BullMQ's connections wait forever by
 * design), so the read has a deadline; when it fails the gauge is emptied
 * rather than left showing numbers that are no longer true, so an alert on
 * `absent(mailsync_queue_jobs)` fires.
 */
import type { Gauge } from 'prom-client';
import { withinDeadline } from './scrape-deadline.js';

/** BullMQ's job states, as getJobCounts names them. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused', 'completed', 'failed'] as const;

/** What this needs of a BullMQ Queue. */
export interface CountableQueue {
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

export interface QueueDepthOptions {
  /** The queue of a name (made on first use). */
  queue: (name: string) => CountableQueue;
  names: readonly string[];
  gauge: Gauge<'queue' | 'state'>;
  /** @defaultValue 2 000 ms */
  timeoutMs?: number;
}

export function queueDepthRefresher(options: QueueDepthOptions): () => Promise<void> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  return async () => {
    try {
      const counts = await withinDeadline(
        Promise.all(options.names.map(async (name) => [name, await options.queue(name).getJobCounts(...QUEUE_STATES)] as const)),
        timeoutMs, 'queue counts',
      );
      for (const [queue, byState] of counts) {
        for (const state of QUEUE_STATES) options.gauge.set({ queue, state }, byState[state] ?? 0);
      }
    } catch {
      options.gauge.reset();
    }
  };
}
