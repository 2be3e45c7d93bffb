/**
 * `mailsync_live_workers` and `mailsync_overdue_mailboxes`, read from Redis
 * when /metrics is scraped: the same numbers in every process (aggregate with
 * max(), not sum()), and no ids in labels. Alert on `mailsync_live_workers == 0`
 * or a growing `mailsync_overdue_mailboxes`: nothing polls (only ROLE=api
 * deployed, or every worker down).
 *
 * As for the other gauges read at scrape time, a read that fails or takes
 * too long sets them to NaN (unknown) rather than leaving stale numbers, and
 * never 0, which would read as "no worker".
 */
import { Gauge } from 'prom-client';
import type { Metrics } from './metrics.js';
import { withinDeadline } from './scrape-deadline.js';

export interface FleetReads {
  workers(): Promise<number>;
  overdue(): Promise<number>;
}

export function registerFleetGauges(metrics: Pick<Metrics, 'registry' | 'onScrape'>, reads: FleetReads, timeoutMs = 2_000): void {
  const registers = [metrics.registry];
  const workers = new Gauge({ name: 'mailsync_live_workers', help: 'Worker processes whose heartbeat is under 15 s old, read from Redis at scrape time (the same in every process).', registers });
  const overdue = new Gauge({ name: 'mailsync_overdue_mailboxes', help: 'Mailboxes whose poll is due more than one poll interval ago, read from Redis at scrape time (the same in every process).', registers });
  metrics.onScrape(async () => {
    try {
      const [w, o] = await withinDeadline(Promise.all([reads.workers(), reads.overdue()]), timeoutMs, 'workers and overdue mailboxes');
      workers.set(w);
      overdue.set(o);
    } catch {
      workers.set(Number.NaN);
      overdue.set(Number.NaN);
    }
  });
}
