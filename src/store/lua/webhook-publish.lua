-- Creates one delivery per subscription for an event, unless it exists
-- (publishing an event twice is a no-op), and admits what may start now.
-- KEYS: wakeups, seq, then per subscription: record, index, slots, parked, tickets, health.
-- ARGV: now, cap, lease, eventId, eventType, body, then per subscription: sub, deliveryId.
-- Returns per created delivery's subscription: sub, lane, {id, ticket, …}.
--- @include "admit-due"
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
