-- Adds bounces to a send's record (store/send-store.ts addBounces), each once: a report read again
-- (a poll repeated after a crash) changes nothing.
-- KEYS[1] the record; ARGV: the bounces (JSON array of objects with recipient, action, status),
-- the most kept, now. Answers how many were new, -1 when the record is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local kept = redis.call('HGET', KEYS[1], 'bounces')
local list = (kept and kept ~= '') and cjson.decode(kept) or {}
local seen = {}
for _, b in ipairs(list) do seen[b.recipient .. '\n' .. b.action .. '\n' .. tostring(b.status)] = true end
local added = 0
for _, b in ipairs(cjson.decode(ARGV[1])) do
  local key = b.recipient .. '\n' .. b.action .. '\n' .. tostring(b.status)
  if not seen[key] and #list < tonumber(ARGV[2]) then
    seen[key] = true
    table.insert(list, b)
    added = added + 1
  end
end
if added > 0 then redis.call('HSET', KEYS[1], 'bounces', cjson.encode(list), 'updatedAt', ARGV[3]) end
return added
