-- Deletes delivery records (a deleted subscription's), each letting go of its event's stored content.
-- KEYS: the records. Returns how many there were.
--- @include "content-hold"
for _, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'id', 'content')
  if f[1] and f[2] then release_content(f[2], f[1]) end
  redis.call('UNLINK', key)
end
return #KEYS
