-- Records an attempt's outcome, updates the endpoint's health, frees the
-- slot and admits what may start now.
-- KEYS: record, index, finished, slots, parked, tickets, health, wakeups, seq.
-- ARGV: sub, id, ticket, now, cap, lease, outcome (delivered|retry|failed|drop|discard),
--       attempted (1 success, 0 failure, - none), unhealthyAfter, probeInterval,
--       retentionCount, retentionMs, recordPrefix, nextAttemptAt, then field/value pairs for the record.
-- Every outcome but retry ends the delivery: it lets go of its event's stored content (the last one
-- to let go deletes it; a manual retry holds it again while it is still there).
-- Returns {'stale'} or {'ok', lane, {id, ticket, …}}.
--- @include "admit-due"
--- @include "content-hold"
local k = { record = KEYS[1], index = KEYS[2], finished = KEYS[3], slots = KEYS[4], parked = KEYS[5],
            tickets = KEYS[6], health = KEYS[7], wakeups = KEYS[8], seq = KEYS[9] }
local sub, id = ARGV[1], ARGV[2]
local now = tonumber(ARGV[4])
local outcome, attempted = ARGV[7], ARGV[8]
if redis.call('HGET', k.tickets, id) ~= 'claimed:' .. ARGV[3] then return {'stale'} end
redis.call('ZREM', k.slots, id)
redis.call('HDEL', k.tickets, id)
local held = redis.call('HGET', k.record, 'content')
if held and outcome ~= 'retry' then release_content(held, id) end
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
