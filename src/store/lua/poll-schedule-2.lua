-- Makes a due time a mailbox's next poll (store/poll-schedule.ts), and its overdue time in the
-- index while the index exists. Both keys are one poll shard's (same hash tag).
-- KEYS: pollDue(shard), pollOverdueAt(shard); ARGV: mailbox id, due (ms), interval (ms).
-- Answers the previous due time, or nil.
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
end
return previous
