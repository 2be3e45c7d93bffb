-- Cancels a message that no worker has taken yet (DELETE /v1/send/{id}).
-- KEYS: record, content, pending, scheduled; ARGV: id, now (ISO), record ttl (s).
-- A `scheduled` or `queued` record becomes `canceled`: out of the scheduled set and the pending
-- index, its content deleted, the record kept for the record retention. Its outbox entry or job,
-- if any, finds it canceled (send-begin-1 starts no attempt on it). Any other status is left as
-- it is: the caller answers 409 for sending, sent and failed, 200 for canceled.
-- Answers the record after (HGETALL), or false when there is none.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
if status == 'scheduled' or status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'canceled', 'updatedAt', ARGV[2], 'contentReleasedAt', ARGV[2])
  redis.call('HDEL', KEYS[1], 'submitting')
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return redis.call('HGETALL', KEYS[1])
