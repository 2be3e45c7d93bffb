-- KEYS: counts hash, index, then the record of each id in ARGV; ARGV: the counted field's name,
-- then every id in the index as the caller read it. Counts the records when the hash is absent and
-- the index still lists exactly those ids: 1 when the hash is there (or nothing to count), 0 when
-- the index changed meanwhile.
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local n = #ARGV - 1
if redis.call('ZCARD', KEYS[2]) ~= n then return 0 end
for i = 1, n do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i + 1]) then return 0 end
end
for i = 1, n do
  local raw = redis.call('GET', KEYS[i + 2])
  if raw then redis.call('HINCRBY', KEYS[1], tostring(cjson.decode(raw)[ARGV[1]]), 1) end
end
return 1
