-- Extends one's own lease; takes it again if it lapsed and nobody took it meanwhile.
-- KEYS[1] the lock; ARGV: owner token, ttl (ms). Answers 1 when the caller holds it after.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
