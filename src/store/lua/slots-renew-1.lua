-- Extends a holder's slots (store/connection-slots.ts) while every one of them is still held;
-- when one lapsed (another worker may have taken it), gives back the rest and answers 0.
-- KEYS[1] the slots; ARGV: now, lease expiry, holder, count, key ttl (ms).
local count = tonumber(ARGV[4])
local held = true
for n = 1, count do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[3] .. ':' .. n)
  if not score or tonumber(score) <= tonumber(ARGV[1]) then held = false end
end
if not held then
  for n = 1, count do redis.call('ZREM', KEYS[1], ARGV[3] .. ':' .. n) end
  return 0
end
for n = 1, count do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[3] .. ':' .. n) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
