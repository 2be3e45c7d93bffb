-- Takes a mailbox's poll lock (store/poll-claim.ts) for one trigger of its schedule, if that
-- trigger is still the mailbox's due time: what a poll job checked in three round trips (take
-- the lock, read the due time, give the lock back when stale) in one.
-- KEYS: the poll lock, pollDue; ARGV: mailbox id, the trigger's due time (ms), owner token,
-- lock ttl (ms). Answers 1 when taken, 0 when another holds the lock, -1 when the trigger is
-- stale (the mailbox was rescheduled, paused or deleted): then the lock is not taken.
local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not due or tonumber(due) ~= tonumber(ARGV[2]) then return -1 end
if not redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4], 'NX') then return 0 end
return 1
