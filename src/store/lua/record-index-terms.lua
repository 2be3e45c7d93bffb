-- Adds records written before the terms index existed to it (store/json-store.ts, once after an
-- upgrade). KEYS: the terms index, then each record; ARGV: for each record in KEYS order, the
-- record as the caller read it, the number of its members, then the members. A record that
-- changed or went since is left alone: its change went through the scripts that keep the index.
-- Answers how many were left alone.
local skipped = 0
local a = 1
for k = 2, #KEYS do
  local raw = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  if redis.call('GET', KEYS[k]) == raw then
    for i = a + 2, a + 1 + n do redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
  else
    skipped = skipped + 1
  end
  a = a + 2 + n
end
return skipped
