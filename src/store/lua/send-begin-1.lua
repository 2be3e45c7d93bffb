-- KEYS: record; ARGV: now. An unfinished record starts an attempt; answers the record after.
-- Only `queued` (or `sending`: a worker died mid-attempt) starts one: a `scheduled` message is not
-- due yet, a `canceled` one is never sent, and the caller sees the status it was left with.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
if status == 'queued' or status == 'sending' then
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  redis.call('HSET', KEYS[1], 'status', 'sending', 'updatedAt', ARGV[1])
end
return redis.call('HGETALL', KEYS[1])
