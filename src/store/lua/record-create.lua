-- Creates a JSON record (store/json-store.ts) unless it exists (0) or its unique key is taken (-1).
-- KEYS: record, index, then the extras; ARGV: json, score, id, extras, the counted field's value,
-- then the record's members of the terms index (when 'x').
--- @include "extra-keys"
local g, u, c, x = extra_keys(ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if u and redis.call('EXISTS', KEYS[u]) == 1 then return -1 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if g then redis.call('SADD', KEYS[g], ARGV[3]) end
if u then redis.call('SET', KEYS[u], ARGV[3]) end
if c and redis.call('EXISTS', KEYS[c]) == 1 then redis.call('HINCRBY', KEYS[c], ARGV[5], 1) end
if x then
  for i = 6, #ARGV do redis.call('ZADD', KEYS[x], 0, ARGV[i]) end
end
return 1
