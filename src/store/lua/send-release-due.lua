-- Moves scheduled messages that are due to the queue (store/send-store.ts releaseDue).
-- KEYS: scheduled, pending, outbox, then one record per id. ARGV: now (ms), now (ISO), then the ids.
-- Only a record still `scheduled` whose time has come is moved (status queued, into the pending
-- index by its due time and the outbox); an id whose record is no longer scheduled (canceled,
-- gone) just leaves the set. Run by several workers at once on the same ids, each message is
-- moved once: the first run moves it, the others find it queued.
-- Answers the ids moved.
local now = tonumber(ARGV[1])
local moved = {}
for i = 4, #KEYS do
  local id = ARGV[i - 1]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= now then
    if redis.call('HGET', KEYS[i], 'status') == 'scheduled' then
      redis.call('HSET', KEYS[i], 'status', 'queued', 'updatedAt', ARGV[2])
      redis.call('ZADD', KEYS[2], score, id)
      redis.call('RPUSH', KEYS[3], id)
      moved[#moved + 1] = id
    end
    redis.call('ZREM', KEYS[1], id)
  end
end
return moved
