-- A worker takes an admitted delivery: only with the current ticket, once.
-- KEYS: slots, tickets, record. ARGV: id, ticket, now, attemptLease.
-- Returns {'stale'} | {'gone'} | {'ok', body, eventId, attempts, budgetStart, budgetAttempts, include, content…}:
-- include is '' or the parts the delivery wants ('text,html'); then 'stored' and each part's JSON
-- members in that order, or 'gone' when the event's content is no longer stored.
-- The content key is read from the record (same hash tag as the record: one slot).
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return {'stale'} end
redis.call('HSET', KEYS[2], ARGV[1], 'claimed:' .. ARGV[2])
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
if redis.call('HGET', KEYS[3], 'status') ~= 'pending' then return {'gone'} end
local f = redis.call('HMGET', KEYS[3], 'body', 'eventId', 'attempts', 'budgetStart', 'budgetAttempts', 'include', 'content')
local out = {'ok', f[1], f[2], f[3], f[4], f[5], f[6] or ''}
if f[6] and f[6] ~= '' and f[7] then
  local parts = {}
  for part in string.gmatch(f[6], '[^,]+') do parts[#parts + 1] = part end
  local members = redis.call('HMGET', f[7], unpack(parts))
  local complete = true
  for j = 1, #parts do if not members[j] then complete = false end end
  if complete then
    out[#out + 1] = 'stored'
    for j = 1, #parts do out[#out + 1] = members[j] end
  else
    out[#out + 1] = 'gone'
  end
end
return out
