-- Deletes a JSON record (store/json-store.ts) with its index entries: 1, or 0 when it was gone.
-- KEYS as for record-create; ARGV: id, extras, the counted field's name, then (when 'x') the
-- record as the caller read it and its members of the terms index. -1, deleting nothing, when
-- the record is no longer what the caller read (the caller reads it again). The count goes by
-- the record as it is when deleted.
--- @include "extra-keys"
local g, u, c, x = extra_keys(ARGV[2])
local raw = redis.call('GET', KEYS[1])
if x and raw and raw ~= ARGV[4] then return -1 end
if c and raw and redis.call('EXISTS', KEYS[c]) == 1 then
  redis.call('HINCRBY', KEYS[c], tostring(cjson.decode(raw)[ARGV[3]]), -1)
end
redis.call('ZREM', KEYS[2], ARGV[1])
if g then redis.call('SREM', KEYS[g], ARGV[1]) end
if u and redis.call('GET', KEYS[u]) == ARGV[1] then redis.call('DEL', KEYS[u]) end
if x then
  for i = 5, #ARGV do redis.call('ZREM', KEYS[x], ARGV[i]) end
end
return redis.call('DEL', KEYS[1])
