-- Takes a slot of a counting semaphore (store/semaphore.ts) unless `limit` holders have one.
-- KEYS[1] holders; ARGV: now, lease expiry, holder, limit, key ttl (ms)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
