/**
 * The Lua side of webhook delivery scheduling. Each script is atomic, so
 * admission (who may attempt now), health and the delivery record change
 * together, whichever worker process runs it.
 *
 * Per subscription (keys in store/keys.ts, all under the `{<prefix>:wh}` tag):
 *   slots    zset  deliveryId → lease deadline (ms): admitted or in flight, at most `cap`
 *   parked   zset  deliveryId → earliest attempt time (ms): waiting for a slot or for its retry time
 *   tickets  hash  deliveryId → ticket of its admission ("claimed:<n>" once a worker took it)
 *   health   hash  consecutiveFailures, failingSince, lastSuccessAt, lastFailureAt, unhealthy, nextProbeAt
 * Shared:
 *   wakeups  zset  subscriptionId → when the sweeper must look at it next (ms)
 *   seq      counter for tickets
 *
 * `admit_due` moves due parked deliveries into free slots, each with a fresh
 * ticket; the caller enqueues one job per ticket. A slot whose lease runs out
 * (its worker died, or its job was lost between this script and the queue)
 * goes back to `parked`, due now: nothing is lost and nothing is sent twice
 * at once, because a job only proceeds with the current ticket.
 * An unhealthy subscription gets one slot, and no admission before
 * `nextProbeAt` (set after each failure while unhealthy).
 *
 * Retention trimming in FINISH deletes other deliveries' records, whose keys
 * it makes from the record-key prefix store/keys.ts builds (passed in ARGV):
 * not declared in KEYS, but under the same hash tag, so in the same slot.
 */

const ADMIT_DUE = `
local function admit_due(k, sub, now, cap, lease)
  local expired = redis.call('ZRANGEBYSCORE', k.slots, '-inf', now)
  for _, id in ipairs(expired) do
    redis.call('ZREM', k.slots, id)
    redis.call('HDEL', k.tickets, id)
    redis.call('ZADD', k.parked, now, id)
  end
  local unhealthy = redis.call('HGET', k.health, 'unhealthy') == '1'
  local limit = cap
  local probeAt = 0
  if unhealthy then
    limit = 1
    probeAt = tonumber(redis.call('HGET', k.health, 'nextProbeAt') or '0')
  end
  local admitted = {}
  local free = limit - redis.call('ZCARD', k.slots)
  if now < probeAt then free = 0 end
  while free > 0 do
    local head = redis.call('ZRANGEBYSCORE', k.parked, '-inf', now, 'LIMIT', 0, 1)
    if #head == 0 then break end
    local id = head[1]
    local ticket = tostring(redis.call('INCR', k.seq))
    redis.call('ZREM', k.parked, id)
    redis.call('ZADD', k.slots, now + lease, id)
    redis.call('HSET', k.tickets, id, ticket)
    admitted[#admitted + 1] = id
    admitted[#admitted + 1] = ticket
    free = free - 1
  end
  local wake = nil
  local first = redis.call('ZRANGE', k.slots, 0, 0, 'WITHSCORES')
  if #first > 0 then wake = tonumber(first[2]) end
  if redis.call('ZCARD', k.slots) < limit then
    local nextParked = redis.call('ZRANGE', k.parked, 0, 0, 'WITHSCORES')
    if #nextParked > 0 then
      local at = math.max(tonumber(nextParked[2]), probeAt)
      if wake == nil or at < wake then wake = at end
    end
  end
  if wake == nil then redis.call('ZREM', k.wakeups, sub) else redis.call('ZADD', k.wakeups, wake, sub) end
  local lane = 'main'
  if unhealthy then lane = 'probe' end
  return {lane, admitted}
end
`;

/** KEYS: slots, parked, tickets, health, wakeups, seq. ARGV: sub, now, cap, lease. */
export const ADMIT = `${ADMIT_DUE}
local k = { slots = KEYS[1], parked = KEYS[2], tickets = KEYS[3], health = KEYS[4], wakeups = KEYS[5], seq = KEYS[6] }
return admit_due(k, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
`;

/**
 * Creates one delivery per subscription for an event, unless it exists
 * (publishing an event twice is a no-op), and admits what may start now.
 * KEYS: wakeups, seq, then per subscription: record, index, slots, parked, tickets, health.
 * ARGV: now, cap, lease, eventId, eventType, body, then per subscription: sub, deliveryId.
 * Returns per created delivery's subscription: sub, lane, {id, ticket, …}.
 */
export const PUBLISH = `${ADMIT_DUE}
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local out = {}
local n = (#KEYS - 2) / 6
for i = 0, n - 1 do
  local b = 2 + i * 6
  local k = { record = KEYS[b + 1], index = KEYS[b + 2], slots = KEYS[b + 3], parked = KEYS[b + 4],
              tickets = KEYS[b + 5], health = KEYS[b + 6], wakeups = KEYS[1], seq = KEYS[2] }
  local sub = ARGV[7 + i * 2]
  local id = ARGV[8 + i * 2]
  if redis.call('EXISTS', k.record) == 0 then
    redis.call('HSET', k.record, 'id', id, 'subscriptionId', sub, 'eventId', ARGV[4], 'eventType', ARGV[5],
      'body', ARGV[6], 'status', 'pending', 'attempts', 0, 'budgetStart', now, 'budgetAttempts', 0,
      'createdAt', now, 'nextAttemptAt', now)
    redis.call('ZADD', k.index, now, id)
    redis.call('ZADD', k.parked, now, id)
    local r = admit_due(k, sub, now, cap, lease)
    out[#out + 1] = sub
    out[#out + 1] = r[1]
    out[#out + 1] = r[2]
  end
end
return out
`;

/**
 * A worker takes an admitted delivery: only with the current ticket, once.
 * KEYS: slots, tickets, record. ARGV: id, ticket, now, attemptLease.
 * Returns {'stale'} | {'gone'} | {'ok', body, eventId, attempts, budgetStart, budgetAttempts}.
 */
export const CLAIM = `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return {'stale'} end
redis.call('HSET', KEYS[2], ARGV[1], 'claimed:' .. ARGV[2])
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
if redis.call('HGET', KEYS[3], 'status') ~= 'pending' then return {'gone'} end
local f = redis.call('HMGET', KEYS[3], 'body', 'eventId', 'attempts', 'budgetStart', 'budgetAttempts')
return {'ok', f[1], f[2], f[3], f[4], f[5]}
`;

/**
 * Records an attempt's outcome, updates the endpoint's health, frees the
 * slot and admits what may start now.
 * KEYS: record, index, finished, slots, parked, tickets, health, wakeups, seq.
 * ARGV: sub, id, ticket, now, cap, lease, outcome (delivered|retry|failed|drop|discard),
 *       attempted (1 success, 0 failure, - none), unhealthyAfter, probeInterval,
 *       retentionCount, retentionMs, recordPrefix, nextAttemptAt, then field/value pairs for the record.
 * Returns {'stale'} or {'ok', lane, {id, ticket, …}}.
 */
export const FINISH = `${ADMIT_DUE}
local k = { record = KEYS[1], index = KEYS[2], finished = KEYS[3], slots = KEYS[4], parked = KEYS[5],
            tickets = KEYS[6], health = KEYS[7], wakeups = KEYS[8], seq = KEYS[9] }
local sub, id = ARGV[1], ARGV[2]
local now = tonumber(ARGV[4])
local outcome, attempted = ARGV[7], ARGV[8]
if redis.call('HGET', k.tickets, id) ~= 'claimed:' .. ARGV[3] then return {'stale'} end
redis.call('ZREM', k.slots, id)
redis.call('HDEL', k.tickets, id)
if attempted == '1' then
  redis.call('HSET', k.health, 'consecutiveFailures', 0, 'lastSuccessAt', now, 'unhealthy', 0)
  redis.call('HDEL', k.health, 'failingSince', 'nextProbeAt')
elseif attempted == '0' then
  local failures = redis.call('HINCRBY', k.health, 'consecutiveFailures', 1)
  redis.call('HSETNX', k.health, 'failingSince', now)
  redis.call('HSET', k.health, 'lastFailureAt', now)
  if failures >= tonumber(ARGV[9]) then
    redis.call('HSET', k.health, 'unhealthy', 1, 'nextProbeAt', now + tonumber(ARGV[10]))
  end
end
if outcome == 'discard' then
  redis.call('DEL', k.record)
  redis.call('ZREM', k.index, id)
elseif outcome ~= 'drop' and redis.call('EXISTS', k.record) == 1 then
  if #ARGV > 14 then redis.call('HSET', k.record, unpack(ARGV, 15)) end
  if outcome == 'retry' then
    redis.call('ZADD', k.parked, tonumber(ARGV[14]), id)
  else
    redis.call('ZADD', k.finished, now, id)
    redis.call('PEXPIRE', k.record, tonumber(ARGV[12]))
    local victims = redis.call('ZRANGEBYSCORE', k.finished, '-inf', now - tonumber(ARGV[12]), 'LIMIT', 0, 100)
    local excess = redis.call('ZCARD', k.finished) - tonumber(ARGV[11])
    if excess > 0 then
      for _, old in ipairs(redis.call('ZRANGE', k.finished, 0, math.min(excess, 100) - 1)) do
        victims[#victims + 1] = old
      end
    end
    for _, old in ipairs(victims) do
      redis.call('ZREM', k.finished, old)
      redis.call('ZREM', k.index, old)
      redis.call('DEL', ARGV[13] .. old)
    end
  end
end
local r = admit_due(k, sub, now, tonumber(ARGV[5]), tonumber(ARGV[6]))
return {'ok', r[1], r[2]}
`;

/**
 * Sends a finished delivery again (a manual retry): pending with a fresh retry budget.
 * KEYS: record, finished, slots, parked, tickets, health, wakeups, seq. ARGV: sub, id, now, cap, lease.
 * Returns {'missing'} | {'pending'} | {'ok', lane, {id, ticket, …}}.
 */
export const RETRY = `${ADMIT_DUE}
local k = { record = KEYS[1], finished = KEYS[2], slots = KEYS[3], parked = KEYS[4], tickets = KEYS[5],
            health = KEYS[6], wakeups = KEYS[7], seq = KEYS[8] }
local sub, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local status = redis.call('HGET', k.record, 'status')
if not status then return {'missing'} end
if status == 'pending' then return {'pending'} end
redis.call('HSET', k.record, 'status', 'pending', 'budgetStart', now,
  'budgetAttempts', redis.call('HGET', k.record, 'attempts'), 'nextAttemptAt', now)
redis.call('PERSIST', k.record)
redis.call('ZREM', k.finished, id)
redis.call('ZADD', k.parked, now, id)
local r = admit_due(k, sub, now, tonumber(ARGV[4]), tonumber(ARGV[5]))
return {'ok', r[1], r[2]}
`;
