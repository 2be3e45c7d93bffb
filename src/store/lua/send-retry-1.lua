-- KEYS: record; ARGV: now, error. Back to the queue to wait for a retry.
if redis.call('HGET', KEYS[1], 'status') ~= 'sending' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'updatedAt', ARGV[1], 'error', ARGV[2])
redis.call('HDEL', KEYS[1], 'submitting')
return 1
