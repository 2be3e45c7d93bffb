-- KEYS: record, content, pending; ARGV: id, status, now, smtpResponse, error, rejected, content ttl,
-- record ttl, when the content goes (ISO). A content ttl of 0 deletes the content now.
if not redis.call('HGET', KEYS[1], 'status') then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updatedAt', ARGV[3], 'smtpResponse', ARGV[4], 'error', ARGV[5], 'rejected', ARGV[6], 'contentReleasedAt', ARGV[9])
redis.call('HDEL', KEYS[1], 'submitting')
if tonumber(ARGV[7]) == 0 then redis.call('DEL', KEYS[2]) else redis.call('EXPIRE', KEYS[2], ARGV[7]) end
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
