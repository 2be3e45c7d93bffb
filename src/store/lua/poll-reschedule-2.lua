-- Moves a mailbox's due time from the trigger a poll ran for to its next poll (store/poll-schedule.ts),
-- only while that trigger is still the due time: a pause or a deletion during the poll took the
-- mailbox off the schedule, and a resume, a sign-in or "poll now" gave it another due time; each
-- of those wins over the poll's own reschedule. Keeps the overdue index while it exists.
-- KEYS: pollDue, pollOverdueAt; ARGV: mailbox id, the running trigger's due (ms), the next due (ms),
-- the mailbox's poll interval (ms). Answers 1 when moved, 0 when left as it was.
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
end
return 1
