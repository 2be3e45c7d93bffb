/**
 * `mailsync_redis_memory_used_bytes` and `mailsync_redis_memory_max_bytes`,
 * read when /metrics is scraped (through the reader's short cache, which
 * readiness probes share). Alert on used / max well before 1: at the limit
 * Redis refuses writes and the API answers 503 `storage_full`.
 *
 * A read that fails or takes too long sets both to NaN (unknown) rather than
 * leaving numbers that are no longer true: an unlabelled gauge cannot be
 * emptied as the queue depths are (prom-client resets it to 0, which would
 * read as "no limit").
 */
import type { Gauge } from 'prom-client';
import type { RedisMemoryReader } from '../adapters/redis/memory.js';
import { withinDeadline } from './scrape-deadline.js';

export interface RedisMemoryGaugesOptions {
  reader: Pick<RedisMemoryReader, 'read'>;
  used: Gauge;
  max: Gauge;
  /** @defaultValue 2 000 ms */
  timeoutMs?: number;
}

export function redisMemoryRefresher(options: RedisMemoryGaugesOptions): () => Promise<void> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  return async () => {
    try {
      const memory = await withinDeadline(options.reader.read(), timeoutMs, 'Redis memory');
      if (!memory) throw new Error('Redis does not report its memory');
      options.used.set(memory.usedBytes);
      options.max.set(memory.maxBytes);
    } catch {
      options.used.set(Number.NaN);
      options.max.set(Number.NaN);
    }
  };
}
