-- Replaces a JSON record (store/json-store.ts) only if it is still what the caller read.
-- KEYS: record, then the counts hash when counted ('c' in ARGV[3]), then the terms index when
-- indexed ('x'); ARGV: old json, new json, extras, the counted field's old and new values, the
-- number of terms members to remove, those members, then the members to add.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
local n = 2
if string.find(ARGV[3], 'c') then
  if ARGV[4] ~= ARGV[5] and redis.call('EXISTS', KEYS[n]) == 1 then
    redis.call('HINCRBY', KEYS[n], ARGV[4], -1)
    redis.call('HINCRBY', KEYS[n], ARGV[5], 1)
  end
  n = n + 1
end
if string.find(ARGV[3], 'x') then
  local removed = tonumber(ARGV[6])
  for i = 7, 6 + removed do redis.call('ZREM', KEYS[n], ARGV[i]) end
  for i = 7 + removed, #ARGV do redis.call('ZADD', KEYS[n], 0, ARGV[i]) end
end
return 1
