/**
 * Reading webhook delivery data: delivery records page by page (newest
 * first), endpoint health, and removing everything of a deleted subscription.
 * Writes that schedule deliveries are in webhook-scheduler.ts.
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { WebhookDeliveryKeys } from './keys.js';
import { LuaScript } from './lua-script.js';

const purgeRecords = new LuaScript('webhook-purge');

/** A delivery as stored: times in ms, absent values as null. */
export interface DeliveryRecord {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastResponseCode: number | null;
  /** JSON `{ code, detail }`. */
  lastError: string | null;
  lastResponseBody: string | null;
  lastAttemptAt: number | null;
  nextAttemptAt: number | null;
  createdAt: number;
}

export interface HealthRecord {
  consecutiveFailures: number;
  failingSince: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  unhealthy: boolean;
}

const FIELDS = [
  'id', 'subscriptionId', 'eventId', 'eventType', 'status', 'attempts', 'lastResponseCode',
  'lastError', 'lastResponseBody', 'lastAttemptAt', 'nextAttemptAt', 'createdAt',
] as const;

const text = (v: string | null | undefined): string | null => (v === null || v === undefined || v === '' ? null : v);
const num = (v: string | null | undefined): number | null => (text(v) === null ? null : Number(v));

function toRecord(values: (string | null)[]): DeliveryRecord | undefined {
  const [id, subscriptionId, eventId, eventType, status, attempts, code, error, body, lastAt, nextAt, createdAt] = values;
  if (!id || !subscriptionId || !status) return undefined;
  return {
    id,
    subscriptionId,
    eventId: eventId ?? '',
    eventType: eventType ?? '',
    status,
    attempts: Number(attempts ?? 0),
    lastResponseCode: num(code),
    lastError: text(error),
    lastResponseBody: text(body),
    lastAttemptAt: num(lastAt),
    nextAttemptAt: num(nextAt),
    createdAt: Number(createdAt ?? 0),
  };
}

interface Cursor {
  score: number;
  id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.score}.${c.id}`, 'utf8').toString('base64url');
}

function decodeCursor(raw: string): Cursor | undefined {
  const decoded = Buffer.from(raw, 'base64url').toString('utf8');
  const dot = decoded.indexOf('.');
  const score = Number(decoded.slice(0, dot));
  const id = decoded.slice(dot + 1);
  if (dot <= 0 || !Number.isSafeInteger(score) || !/^dlv_[A-Za-z0-9_-]{16}$/.test(id)) return undefined;
  return { score, id };
}

export class WebhookDeliveryReads {
  constructor(private readonly redis: Redis, private readonly keys: WebhookDeliveryKeys) {}

  async get(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return toRecord(await this.redis.hmget(this.keys.record(deliveryId), ...FIELDS));
  }

  /**
   * A page of a subscription's deliveries, newest first. The cursor is the
   * last item's (creation time, id), so deliveries created meanwhile do not
   * shift the pages. Within one millisecond ZREVRANGEBYSCORE orders ids
   * descending, so the ones already shown are those not below the cursor's id.
   * The cursor is opaque to callers; 'invalid_cursor' when it is not one this gave out.
   */
  async list(subscriptionId: string, limit: number, after?: string): Promise<{ records: DeliveryRecord[]; nextCursor: string | null } | 'invalid_cursor'> {
    const cursor = after === undefined ? undefined : decodeCursor(after);
    if (after !== undefined && !cursor) return 'invalid_cursor';
    const index = this.keys.index(subscriptionId);
    const max = cursor ? String(cursor.score) : '+inf';
    const found: Cursor[] = [];
    const batch = limit + 16;
    for (let offset = 0; found.length <= limit; offset += batch) {
      const raw = await this.redis.zrevrangebyscore(index, max, '-inf', 'WITHSCORES', 'LIMIT', offset, batch);
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const id = raw[i] as string;
        const score = Number(raw[i + 1]);
        if (cursor && score === cursor.score && id >= cursor.id) continue;
        found.push({ id, score });
      }
      if (raw.length < batch * 2) break;
    }
    const page = found.slice(0, limit);
    const next = found.length > limit ? (page[page.length - 1] ?? null) : null;
    if (page.length === 0) return { records: [], nextCursor: null };
    const pipeline = this.redis.pipeline();
    for (const { id } of page) pipeline.hmget(this.keys.record(id), ...FIELDS);
    const results = (await pipeline.exec()) ?? [];
    const records = results
      .map(([err, values]) => (err ? undefined : toRecord(values as (string | null)[])))
      .filter((r): r is DeliveryRecord => r !== undefined);
    return { records, nextCursor: next ? encodeCursor(next) : null };
  }

  async health(subscriptionIds: readonly string[]): Promise<HealthRecord[]> {
    if (subscriptionIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of subscriptionIds) {
      pipeline.hmget(this.keys.health(id), 'consecutiveFailures', 'failingSince', 'lastSuccessAt', 'lastFailureAt', 'unhealthy');
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, values]) => {
      if (err) throw err;
      const [failures, since, success, failure, unhealthy] = values as (string | null)[];
      return {
        consecutiveFailures: Number(failures ?? 0),
        failingSince: num(since),
        lastSuccessAt: num(success),
        lastFailureAt: num(failure),
        unhealthy: unhealthy === '1',
      };
    });
  }

  /** Removes a deleted subscription's deliveries and scheduling state. */
  async purge(subscriptionId: string): Promise<void> {
    const k = this.keys;
    const ids = await this.redis.zrange(k.index(subscriptionId), '0', '-1');
    // Each record lets go of its event's stored content, if it holds some (webhook-purge.lua).
    for (let i = 0; i < ids.length; i += 500) {
      await purgeRecords.run(this.redis, ids.slice(i, i + 500).map((id) => k.record(id)), []);
    }
    await this.redis.unlink(
      k.index(subscriptionId), k.finished(subscriptionId), k.slots(subscriptionId),
      k.parked(subscriptionId), k.tickets(subscriptionId), k.health(subscriptionId),
    );
    await this.redis.zrem(k.wakeups(), subscriptionId);
  }
}
