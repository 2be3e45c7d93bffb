-- KEYS: record, content, pending; ARGV: id, status, now, smtpResponse, error, rejected, content ttl, record ttl
if not redis.call('HGET', KEYS[1], 'status') then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updatedAt', ARGV[3], 'smtpResponse', ARGV[4], 'error', ARGV[5], 'rejected', ARGV[6])
redis.call('HDEL', KEYS[1], 'submitting')
redis.call('EXPIRE', KEYS[2], ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
