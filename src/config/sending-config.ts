/**
 * Sending settings (POST /v1/send), read from the environment like the rest
 * of the config (see config.ts). The defaults are Exchange Online's limits
 * (microsoft-facts.md); tests shrink the windows and delays, the benchmark
 * lifts the rate limits (0 = no limit).
 */
import { ConfigError } from '../errors/errors.js';
import { parseInteger } from './env-spec.js';

export interface SendingConfig {
  /** Largest message as sent, MIME-encoded (attachments in base64), as Exchange counts it (bytes). @defaultValue 36 700 160 (35 MiB) */
  maxMessageBytes: number;
  /** Bytes of POST /v1/send bodies one API process holds at once; past them 503 server_busy. @defaultValue 268 435 456 (256 MiB) */
  bodyBudgetBytes: number;
  /** Most recipients (to + cc + bcc, distinct) in one message. @defaultValue 500 (Exchange's default; admins: up to 1 000) */
  maxRecipients: number;
  rate: {
    /** Messages per mailbox per `messagesWindowMs`; 0: no limit. @defaultValue 30 */
    messages: number;
    /** The messages window (ms). @defaultValue 60 000 */
    messagesWindowMs: number;
    /** Recipients per mailbox per `recipientsWindowMs` (rolling); 0: no limit. @defaultValue 10 000 */
    recipients: number;
    /** The recipients window (ms). @defaultValue 86 400 000 (24 h) */
    recipientsWindowMs: number;
  };
  retry: {
    /** Delay after the first transient failure (ms); doubles after each further one, with jitter. @defaultValue 10 000 */
    baseDelayMs: number;
    /** The doubling stops here (ms). @defaultValue 1 800 000 (30 min) */
    maxDelayMs: number;
    /** Delay after Exchange throttled a submission (ms). @defaultValue 60 000 */
    throttleDelayMs: number;
    /** Attempts (worker crashes included) before a message fails for good. @defaultValue 10 */
    maxAttempts: number;
  };
  /** Messages one worker process submits at once. @defaultValue 16 */
  concurrency: number;
  pool: {
    /** SMTP connections kept open per mailbox. @defaultValue 2 */
    connectionsPerMailbox: number;
    /** A mailbox's connections are closed after this long without a message (ms). @defaultValue 120 000 */
    idleMs: number;
  };
  /** A job whose worker stopped renewing its lock this long ago is run again (ms). @defaultValue 30 000 */
  stallTimeoutMs: number;
  /** How often each worker looks for accepted messages that have no job (ms). @defaultValue 30 000 */
  sweepIntervalMs: number;
  /** How often each worker moves scheduled messages (sendAt) that are due to the queue: how late one may go out (ms). @defaultValue 1 000 */
  scheduleIntervalMs: number;
  /** Message content is deleted this long after the message was sent or failed (s). @defaultValue 604 800 (7 days) */
  contentRetentionSeconds: number;
  /** The status record (GET /v1/send/{id}) is deleted this long after the message was sent or failed (s). @defaultValue 2 592 000 (30 days) */
  recordRetentionSeconds: number;
}

type Read = <T>(name: string, parse: (raw: string) => T, fallback: T) => T;

const DAY_MS = 86_400_000;
const MIB = 1024 * 1024;

export function loadSendingConfig(read: Read): SendingConfig {
  const config: SendingConfig = {
    maxMessageBytes: read('SEND_MAX_MESSAGE_BYTES', parseInteger(1024, 150 * MIB), 35 * MIB),
    bodyBudgetBytes: read('SEND_BODY_BUDGET_BYTES', parseInteger(1024, 64 * 1024 * MIB), 256 * MIB),
    maxRecipients: read('SEND_MAX_RECIPIENTS', parseInteger(1, 1_000), 500),
    rate: {
      messages: read('SEND_RATE_PER_MINUTE', parseInteger(0, 1_000_000), 30),
      messagesWindowMs: read('SEND_RATE_WINDOW_MS', parseInteger(100, DAY_MS), 60_000),
      recipients: read('SEND_RECIPIENTS_PER_DAY', parseInteger(0, 100_000_000), 10_000),
      recipientsWindowMs: read('SEND_RECIPIENTS_WINDOW_MS', parseInteger(100, 30 * DAY_MS), DAY_MS),
    },
    retry: {
      baseDelayMs: read('SEND_RETRY_BASE_MS', parseInteger(1, DAY_MS), 10_000),
      maxDelayMs: read('SEND_RETRY_MAX_DELAY_MS', parseInteger(1, DAY_MS), 1_800_000),
      throttleDelayMs: read('SEND_THROTTLE_DELAY_MS', parseInteger(1, DAY_MS), 60_000),
      maxAttempts: read('SEND_MAX_ATTEMPTS', parseInteger(1, 100), 10),
    },
    concurrency: read('SEND_CONCURRENCY', parseInteger(1, 1_000), 16),
    pool: {
      // Exchange Online takes at most 3 SMTP connections per mailbox at once, from all workers together
      // (432 4.3.2 past them): one per worker keeps three workers within it.
      connectionsPerMailbox: read('SEND_POOL_CONNECTIONS', parseInteger(1, 3), 1),
      idleMs: read('SEND_POOL_IDLE_MS', parseInteger(1_000, DAY_MS), 120_000),
    },
    stallTimeoutMs: read('SEND_STALL_TIMEOUT_MS', parseInteger(500, 600_000), 30_000),
    sweepIntervalMs: read('SEND_SWEEP_INTERVAL_MS', parseInteger(100, 3_600_000), 30_000),
    scheduleIntervalMs: read('SEND_SCHEDULE_INTERVAL_MS', parseInteger(100, 60_000), 1_000),
    // 0: the content goes as soon as the message is sent or failed for good (the record stays).
    contentRetentionSeconds: read('SEND_RETENTION_SECONDS', parseInteger(0, 365 * 86_400), 0),
    recordRetentionSeconds: read('SEND_RECORD_RETENTION_SECONDS', parseInteger(1, 365 * 86_400), 30 * 86_400),
  };
  if (config.retry.maxDelayMs < config.retry.baseDelayMs) {
    throw new ConfigError('SEND_RETRY_MAX_DELAY_MS', 'must not be smaller than SEND_RETRY_BASE_MS');
  }
  // A message with more recipients than a whole window allows would wait forever.
  if (config.rate.recipients > 0 && config.rate.recipients < config.maxRecipients) {
    throw new ConfigError('SEND_RECIPIENTS_PER_DAY', `must be 0 (no limit) or at least SEND_MAX_RECIPIENTS (${config.maxRecipients})`);
  }
  // A body the route accepts must fit the budget alone, or it could never be taken.
  if (config.bodyBudgetBytes < sendBodyLimitBytes(config)) {
    throw new ConfigError('SEND_BODY_BUDGET_BYTES', `must be at least the largest POST /v1/send body (${sendBodyLimitBytes(config)} bytes, from SEND_MAX_MESSAGE_BYTES)`);
  }
  if (config.recordRetentionSeconds < config.contentRetentionSeconds) {
    throw new ConfigError('SEND_RECORD_RETENTION_SECONDS', 'must not be smaller than SEND_RETENTION_SECONDS (the record outlives the content)');
  }
  return config;
}

/**
 * The body limit of POST /v1/send: room for the largest raw message in base64 (4 bytes per 3;
 * structured messages are counted encoded, so theirs is smaller) plus the JSON around it. Other
 * routes keep HTTP_BODY_LIMIT_BYTES.
 */
export function sendBodyLimitBytes(config: Pick<SendingConfig, 'maxMessageBytes'>): number {
  return Math.ceil(config.maxMessageBytes / 3) * 4 + 2 * MIB;
}
