-- KEYS: pollOverdueAt(shard), pollDue(shard); ARGV: triples of mailbox id, its due (ms) as the
-- caller read it from pollDue, and its overdue time (due + interval, ms). Builds the index when it
-- is absent and pollDue is still exactly what the caller read; answers 1 when the index is there
-- (or pollDue is empty), 0 when pollDue changed meanwhile (read it again and retry).
-- The caller reads the intervals from the mailbox records (another hash tag) beforehand.
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local n = #ARGV / 3
if redis.call('ZCARD', KEYS[2]) ~= n then return 0 end
for i = 0, n - 1 do
  if redis.call('ZSCORE', KEYS[2], ARGV[i * 3 + 1]) ~= ARGV[i * 3 + 2] then return 0 end
end
for i = 0, n - 1 do
  redis.call('ZADD', KEYS[1], ARGV[i * 3 + 3], ARGV[i * 3 + 1])
end
return 1
