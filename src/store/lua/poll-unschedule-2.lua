-- KEYS: pollDue, pollOverdueAt; ARGV: mailbox id. Answers the previous due time, or nil.
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return previous
