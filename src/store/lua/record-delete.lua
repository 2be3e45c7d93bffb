-- Deletes a JSON record (store/json-store.ts) with its index entries.
-- KEYS as for record-create; ARGV: id, extras, the counted field's name. The count goes by the
-- record as it is when deleted, whatever the caller read before.
--- @include "extra-keys"
local g, u, c = extra_keys(ARGV[2])
if c and redis.call('EXISTS', KEYS[c]) == 1 then
  local raw = redis.call('GET', KEYS[1])
  if raw then redis.call('HINCRBY', KEYS[c], tostring(cjson.decode(raw)[ARGV[3]]), -1) end
end
redis.call('ZREM', KEYS[2], ARGV[1])
if g then redis.call('SREM', KEYS[g], ARGV[1]) end
if u and redis.call('GET', KEYS[u]) == ARGV[1] then redis.call('DEL', KEYS[u]) end
return redis.call('DEL', KEYS[1])
