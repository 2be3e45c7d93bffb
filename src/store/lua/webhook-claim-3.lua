-- A worker takes an admitted delivery: only with the current ticket, once.
-- KEYS: slots, tickets, record. ARGV: id, ticket, now, attemptLease.
-- Returns {'stale'} | {'gone'} | {'ok', body, eventId, attempts, budgetStart, budgetAttempts}.
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return {'stale'} end
redis.call('HSET', KEYS[2], ARGV[1], 'claimed:' .. ARGV[2])
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
if redis.call('HGET', KEYS[3], 'status') ~= 'pending' then return {'gone'} end
local f = redis.call('HMGET', KEYS[3], 'body', 'eventId', 'attempts', 'budgetStart', 'budgetAttempts')
return {'ok', f[1], f[2], f[3], f[4], f[5]}
