/**
 * Prometheus metrics, one registry per process (never the global one, so
 * tests and several apps in one process stay apart). Labels are bounded:
 * results, error codes and queue names, never mailbox ids or addresses.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  polls: Counter<'result'>;
  pollDuration: Histogram;
  pollLag: Histogram;
  messagesReceived: Counter;
  webhookDeliveries: Counter<'result'>;
  webhookLatency: Histogram;
  sends: Counter<'result'>;
  tokenRequests: Counter<'result' | 'code'>;
  queueDepth: Gauge<'queue' | 'state'>;
  imapConnections: Gauge;
  sendBodyBytes: Gauge;
  /** IMAP logins by what they were for (poll, action): how often sessions are reused shows here. */
  imapLogins: Counter<'purpose'>;
  /** Redis's used memory and maxmemory (0: no limit), read at scrape time (observability/redis-memory.ts). */
  redisMemoryUsed: Gauge;
  redisMemoryMax: Gauge;
  /** Adds work to run before each scrape (gauges read from elsewhere, like queue depths). */
  onScrape(refresh: () => Promise<void>): void;
  /** Runs that work; GET /metrics calls it before rendering. */
  refresh(): Promise<void>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'mailsync_process_' });
    // prom-client's `…_total` gauges break the Prometheus naming rule that promtool checks (`_total` is
    // for counters); the same numbers by type remain (nodejs_active_handles{type}…): sum() them.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
      registry.removeSingleMetric(`mailsync_process_nodejs_${name}`);
    }
  }
  const registers = [registry];
  const refreshers: (() => Promise<void>)[] = [];
  return {
    registry,
    polls: new Counter({ name: 'mailsync_polls_total', help: 'Mailbox polls by result (ok, unchanged, auth_error, throttled, error).', labelNames: ['result'], registers }),
    pollDuration: new Histogram({ name: 'mailsync_poll_duration_seconds', help: 'Time one poll of a mailbox took.', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    pollLag: new Histogram({ name: 'mailsync_poll_lag_seconds', help: 'How late a poll started after its scheduled moment.', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers }),
    messagesReceived: new Counter({ name: 'mailsync_messages_received_total', help: 'New messages announced.', registers }),
    webhookDeliveries: new Counter({ name: 'mailsync_webhook_deliveries_total', help: 'Webhook delivery attempts by result (delivered, failed, retrying, refused).', labelNames: ['result'], registers }),
    webhookLatency: new Histogram({ name: 'mailsync_webhook_delivery_latency_seconds', help: 'Time from an event to its delivery.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600], registers }),
    sends: new Counter({ name: 'mailsync_sends_total', help: 'Messages sent by result (sent, failed, retrying).', labelNames: ['result'], registers }),
    tokenRequests: new Counter({ name: 'mailsync_token_requests_total', help: 'Token lookups by result (hit: served from cache, miss: asked Microsoft, error) and error code.', labelNames: ['result', 'code'], registers }),
    // Read from Redis at scrape time, so every process reports the same (global) numbers: aggregate with max(), not sum().
    queueDepth: new Gauge({ name: 'mailsync_queue_jobs', help: 'Jobs per queue and state, read from Redis at scrape time (the same in every process).', labelNames: ['queue', 'state'], registers }),
    imapConnections: new Gauge({ name: 'mailsync_imap_connections_open', help: 'IMAP connections this process holds open.', registers }),
    sendBodyBytes: new Gauge({ name: 'mailsync_send_body_bytes_in_flight', help: 'Bytes of POST /v1/send bodies this API process holds now (past SEND_BODY_BUDGET_BYTES: 503 server_busy).', registers }),
    imapLogins: new Counter({ name: 'mailsync_imap_logins_total', help: 'IMAP logins by purpose (poll, action); sessions kept open between uses log in less often.', labelNames: ['purpose'], registers }),
    // The same in every process, like mailsync_queue_jobs: aggregate with max().
    redisMemoryUsed: new Gauge({ name: 'mailsync_redis_memory_used_bytes', help: 'Memory Redis uses, as it counts it against maxmemory (the fullest master on a cluster), read at scrape time.', registers }),
    redisMemoryMax: new Gauge({ name: 'mailsync_redis_memory_max_bytes', help: 'Redis maxmemory (of the same master); 0: no limit. At the limit, writes are refused (storage_full).', registers }),
    onScrape: (refresh) => void refreshers.push(refresh),
    refresh: async () => void (await Promise.all(refreshers.map((r) => r()))),
  };
}
