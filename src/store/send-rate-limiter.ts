/**
 * Exchange Online's submission limits per mailbox, as Redis sliding windows
 * shared by every worker process: at most `messages` messages per
 * `messagesWindowMs` (30 a minute) and `recipients` recipients per
 * `recipientsWindowMs` (10,000 a rolling day). One atomic script checks both
 * windows and takes a slot in both, or takes nothing and answers how long to
 * wait until a slot frees. The caller delays the message that long: over
 * the limit a message waits, it is never refused or dropped.
 *
 * A message that already holds a slot (a retry after a transient failure
 * inside the window) keeps it and is not counted twice. Each window is a
 * sorted set of send ids by submission time; the recipients window also
 * keeps each send's recipient count and a running total in a hash, so the
 * check is O(expired entries), not O(window).
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { SendKeys } from './keys.js';
import { LuaScript } from './lua-script.js';

export interface SendRateLimits {
  /** 0: no limit. */
  messages: number;
  messagesWindowMs: number;
  /** 0: no limit. */
  recipients: number;
  recipientsWindowMs: number;
}

// KEYS: messages zset, recipients zset, recipient counts hash
// ARGV: now, messages window, messages limit, recipients window, recipients limit, send id, recipient count
const RESERVE = new LuaScript(`
local now = tonumber(ARGV[1])
local msgWindow, msgLimit = tonumber(ARGV[2]), tonumber(ARGV[3])
local rcptWindow, rcptLimit = tonumber(ARGV[4]), tonumber(ARGV[5])
local id, count = ARGV[6], tonumber(ARGV[7])
local wait = 0
if msgLimit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - msgWindow)
  if not redis.call('ZSCORE', KEYS[1], id) then
    local n = redis.call('ZCARD', KEYS[1])
    if n >= msgLimit then
      local freeing = redis.call('ZRANGE', KEYS[1], n - msgLimit, n - msgLimit, 'WITHSCORES')
      wait = math.max(wait, tonumber(freeing[2]) + msgWindow - now)
    end
  end
end
local rcptHeld = false
if rcptLimit > 0 then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - rcptWindow, 'LIMIT', 0, 1000)
  for _, old in ipairs(expired) do
    redis.call('HINCRBY', KEYS[3], '_total', -tonumber(redis.call('HGET', KEYS[3], old) or '0'))
    redis.call('HDEL', KEYS[3], old)
    redis.call('ZREM', KEYS[2], old)
  end
  rcptHeld = redis.call('ZSCORE', KEYS[2], id)
  if not rcptHeld then
    local excess = tonumber(redis.call('HGET', KEYS[3], '_total') or '0') + count - rcptLimit
    if excess > 0 then
      local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
      local freed = 0
      for i = 1, #entries, 2 do
        freed = freed + tonumber(redis.call('HGET', KEYS[3], entries[i]) or '0')
        if freed >= excess then
          wait = math.max(wait, tonumber(entries[i + 1]) + rcptWindow - now)
          break
        end
      end
    end
  end
end
if wait > 0 then return math.ceil(wait) end
if msgLimit > 0 then
  redis.call('ZADD', KEYS[1], 'NX', now, id)
  redis.call('PEXPIRE', KEYS[1], msgWindow)
end
if rcptLimit > 0 and not rcptHeld then
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('HSET', KEYS[3], id, count)
  redis.call('HINCRBY', KEYS[3], '_total', count)
  redis.call('PEXPIRE', KEYS[2], rcptWindow)
  redis.call('PEXPIRE', KEYS[3], rcptWindow)
end
return 0`);

export class SendRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: SendKeys,
    private readonly limits: SendRateLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limits.messages > 0 || this.limits.recipients > 0;
  }

  /** Takes a slot for the message: 0 when it may be submitted now, else how long to wait (ms). */
  async reserve(mailboxId: string, sendId: string, recipients: number): Promise<number> {
    if (!this.enabled) return 0;
    const { messages, messagesWindowMs, recipients: recipientLimit, recipientsWindowMs } = this.limits;
    const wait = await RESERVE.run(
      this.redis,
      [this.keys.rateMessages(mailboxId), this.keys.rateRecipients(mailboxId), this.keys.rateRecipientCounts(mailboxId)],
      [this.now(), messagesWindowMs, messages, recipientsWindowMs, recipientLimit, sendId, recipients],
    );
    return Number(wait);
  }
}
