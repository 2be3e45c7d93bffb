-- Counts one request in a sliding window (store/rate-limiter.ts) if it fits.
-- KEYS: this window's counter, the previous window's (one hash tag: one Cluster slot).
-- ARGV: limit, the previous window's weight, window ms. Answers {allowed 0|1, this window's count, previous count}.
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if previous * tonumber(ARGV[2]) + current + 1 > tonumber(ARGV[1]) then return {0, current, previous} end
current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2) end
return {1, current, previous}
