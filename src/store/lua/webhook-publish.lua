-- Creates one delivery per subscription for an event, unless it exists
-- (publishing an event twice is a no-op), and admits what may start now.
-- KEYS: wakeups, seq, content, then per subscription: record, index, slots, parked, tickets, health.
-- ARGV: now, cap, lease, eventId, eventType, body, omittedBody, contentTtl, n, then n pairs
--       part, members (the event's content), then per subscription: sub, deliveryId, mode.
-- mode: '' the body; '-' omittedBody (content wanted but missing); else the parts wanted
-- ('text,html'): the body, and the content stored once under KEYS[3], held by the delivery.
-- Returns per created delivery's subscription: sub, lane, {id, ticket, …}.
--- @include "admit-due"
--- @include "content-hold"
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local contentKey = KEYS[3]
local members = tonumber(ARGV[9])
local first = 10 + members * 2
local stored = false
local out = {}
local n = (#KEYS - 3) / 6
for i = 0, n - 1 do
  local b = 3 + i * 6
  local k = { record = KEYS[b + 1], index = KEYS[b + 2], slots = KEYS[b + 3], parked = KEYS[b + 4],
              tickets = KEYS[b + 5], health = KEYS[b + 6], wakeups = KEYS[1], seq = KEYS[2] }
  local sub = ARGV[first + i * 3]
  local id = ARGV[first + 1 + i * 3]
  local mode = ARGV[first + 2 + i * 3]
  if redis.call('EXISTS', k.record) == 0 then
    local body = ARGV[6]
    if mode == '-' then body = ARGV[7] end
    redis.call('HSET', k.record, 'id', id, 'subscriptionId', sub, 'eventId', ARGV[4], 'eventType', ARGV[5],
      'body', body, 'status', 'pending', 'attempts', 0, 'budgetStart', now, 'budgetAttempts', 0,
      'createdAt', now, 'nextAttemptAt', now)
    if mode ~= '' and mode ~= '-' then
      -- Written with the first delivery that holds it: a publish that creates none stores nothing.
      if not stored and members > 0 then
        redis.call('HSET', contentKey, unpack(ARGV, 10, first - 1))
        stored = true
      end
      redis.call('HSET', k.record, 'include', mode, 'content', contentKey)
      hold_content(contentKey, id)
    end
    redis.call('ZADD', k.index, now, id)
    redis.call('ZADD', k.parked, now, id)
    local r = admit_due(k, sub, now, cap, lease)
    out[#out + 1] = sub
    out[#out + 1] = r[1]
    out[#out + 1] = r[2]
  end
end
if stored then redis.call('PEXPIRE', contentKey, tonumber(ARGV[8])) end
return out
