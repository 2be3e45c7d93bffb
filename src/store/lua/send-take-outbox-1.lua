-- KEYS: outbox; ARGV: how many. Takes the oldest ids (LPOP with a count needs Redis 6.2).
local ids = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids > 0 then redis.call('LTRIM', KEYS[1], #ids, -1) end
return ids
