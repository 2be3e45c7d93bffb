-- KEYS: pollOverdueAt, pollDue, then the record of each mailbox in ARGV; ARGV: fallback interval
-- (ms), then every mailbox id in pollDue as the caller read it. Builds the index when it is absent
-- and the ids are still exactly pollDue's; answers 1 when the index is there (or pollDue is empty),
-- 0 when pollDue changed meanwhile (read it again and retry).
--- @include "interval-of"
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local n = #ARGV - 1
if redis.call('ZCARD', KEYS[2]) ~= n then return 0 end
local dues = {}
for i = 1, n do
  local due = redis.call('ZSCORE', KEYS[2], ARGV[i + 1])
  if not due then return 0 end
  dues[i] = tonumber(due)
end
for i = 1, n do
  redis.call('ZADD', KEYS[1], dues[i] + intervalOf(nil, KEYS[i + 2], ARGV[1]), ARGV[i + 1])
end
return 1
