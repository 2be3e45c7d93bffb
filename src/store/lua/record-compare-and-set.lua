-- Replaces a JSON record (store/json-store.ts) only if it is still what the caller read.
-- KEYS: record, and the counts hash when counted; ARGV: old json, new json, then the counted
-- field's old and new values when counted.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  if KEYS[2] and ARGV[3] ~= ARGV[4] and redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[3], -1)
    redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
  end
  return 1
end
return 0
