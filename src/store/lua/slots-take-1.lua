-- Takes `count` slots of a mailbox's SMTP connections (store/connection-slots.ts) for one
-- holder, all or none: at most `limit` are held at once across every worker.
-- KEYS[1] the slots (sorted set: member `<holder>:<n>`, score the lease's expiry)
-- ARGV: now, lease expiry, holder, count, limit, key ttl (ms). Answers 1 when taken.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local count = tonumber(ARGV[4])
if redis.call('ZCARD', KEYS[1]) + count > tonumber(ARGV[5]) then return 0 end
for n = 1, count do redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3] .. ':' .. n) end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
