-- Creates one delivery per (event, subscription) for a list of events, unless it exists (publishing
-- an event twice is a no-op), then admits, once per subscription that got a new delivery, what may
-- start now. One call for a poll's batch of events instead of one per event (issue 19): the whole
-- list is created atomically, in the order given.
-- KEYS: wakeups, seq, then per subscription (in the order ARGV lists them): index, slots, parked,
--       tickets, health; then per event: content, followed by the record of each of its deliveries.
-- ARGV: now, cap, lease, s (subscriptions), the s subscription ids, then per event:
--       eventId, eventType, body, omittedBody, contentTtl, m, m pairs part, members (the event's
--       content), d, then per delivery: sub (its position among the subscriptions, from 1),
--       deliveryId, mode.
-- mode: '' the body; '-' omittedBody (content wanted but missing); else the parts wanted
-- ('text,html'): the body, and the content stored once under the event's content key, held by the
-- delivery.
-- Returns per subscription that got a new delivery: sub, lane, {id, ticket, …}.
--- @include "admit-due"
--- @include "content-hold"
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local s = tonumber(ARGV[4])
local subs = {}
for i = 1, s do
  local b = 2 + (i - 1) * 5
  subs[i] = { id = ARGV[4 + i], created = false,
              k = { index = KEYS[b + 1], slots = KEYS[b + 2], parked = KEYS[b + 3], tickets = KEYS[b + 4],
                    health = KEYS[b + 5], wakeups = KEYS[1], seq = KEYS[2] } }
end
local a = 5 + s
local key = 3 + s * 5
while a <= #ARGV do
  local eventId, eventType, body, omittedBody = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local ttl = tonumber(ARGV[a + 4])
  local members = tonumber(ARGV[a + 5])
  local firstMember = a + 6
  a = firstMember + members * 2
  local deliveries = tonumber(ARGV[a])
  a = a + 1
  local contentKey = KEYS[key]
  key = key + 1
  local stored = false
  for _ = 1, deliveries do
    local sub = subs[tonumber(ARGV[a])]
    local id, mode = ARGV[a + 1], ARGV[a + 2]
    local record = KEYS[key]
    a = a + 3
    key = key + 1
    if redis.call('EXISTS', record) == 0 then
      local text = body
      if mode == '-' then text = omittedBody end
      redis.call('HSET', record, 'id', id, 'subscriptionId', sub.id, 'eventId', eventId, 'eventType', eventType,
        'body', text, 'status', 'pending', 'attempts', 0, 'budgetStart', now, 'budgetAttempts', 0,
        'createdAt', now, 'nextAttemptAt', now)
      if mode ~= '' and mode ~= '-' then
        -- Written with the first delivery that holds it: a publish that creates none stores nothing.
        if not stored and members > 0 then
          redis.call('HSET', contentKey, unpack(ARGV, firstMember, firstMember + members * 2 - 1))
          stored = true
        end
        redis.call('HSET', record, 'include', mode, 'content', contentKey)
        hold_content(contentKey, id)
      end
      redis.call('ZADD', sub.k.index, now, id)
      redis.call('ZADD', sub.k.parked, now, id)
      sub.created = true
    end
  end
  if stored then redis.call('PEXPIRE', contentKey, ttl) end
end
local out = {}
for i = 1, s do
  local sub = subs[i]
  if sub.created then
    local r = admit_due(sub.k, sub.id, now, cap, lease)
    out[#out + 1] = sub.id
    out[#out + 1] = r[1]
    out[#out + 1] = r[2]
  end
end
return out
