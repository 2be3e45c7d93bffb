-- Sends a finished delivery again (a manual retry): pending with a fresh retry budget.
-- KEYS: record, finished, slots, parked, tickets, health, wakeups, seq. ARGV: sub, id, now, cap, lease.
-- A delivery that wants content holds its event's stored content again while it is still there; when
-- it is gone the attempt says so (`contentOmitted: "expired"`).
-- Returns {'missing'} | {'pending'} | {'ok', lane, {id, ticket, …}}.
--- @include "admit-due"
--- @include "content-hold"
local k = { record = KEYS[1], finished = KEYS[2], slots = KEYS[3], parked = KEYS[4], tickets = KEYS[5],
            health = KEYS[6], wakeups = KEYS[7], seq = KEYS[8] }
local sub, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local status = redis.call('HGET', k.record, 'status')
if not status then return {'missing'} end
if status == 'pending' then return {'pending'} end
redis.call('HSET', k.record, 'status', 'pending', 'budgetStart', now,
  'budgetAttempts', redis.call('HGET', k.record, 'attempts'), 'nextAttemptAt', now)
redis.call('PERSIST', k.record)
local held = redis.call('HGET', k.record, 'content')
if held and redis.call('EXISTS', held) == 1 then hold_content(held, id) end
redis.call('ZREM', k.finished, id)
redis.call('ZADD', k.parked, now, id)
local r = admit_due(k, sub, now, tonumber(ARGV[4]), tonumber(ARGV[5]))
return {'ok', r[1], r[2]}
