-- Releases a lock (store/lock.ts) only if its owner token is the caller's.
-- KEYS[1] the lock; ARGV[1] the owner token. Answers 1 when released.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
