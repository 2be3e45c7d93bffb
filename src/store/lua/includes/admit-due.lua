-- Webhook delivery scheduling (store/webhook-scheduler.ts runs the webhook-*.lua scripts). Each
-- script is atomic, so admission (who may attempt now), health and the delivery record change
-- together, whichever worker process runs it.
--
-- Per subscription (keys in store/keys.ts, all under the `{<prefix>:wh}` tag):
--   slots    zset  deliveryId → lease deadline (ms): admitted or in flight, at most `cap`
--   parked   zset  deliveryId → earliest attempt time (ms): waiting for a slot or for its retry time
--   tickets  hash  deliveryId → ticket of its admission ("claimed:<n>" once a worker took it)
--   health   hash  consecutiveFailures, failingSince, lastSuccessAt, lastFailureAt, unhealthy, nextProbeAt
-- Shared:
--   wakeups  zset  subscriptionId → when the sweeper must look at it next (ms)
--   seq      counter for tickets
--
-- `admit_due` moves due parked deliveries into free slots, each with a fresh
-- ticket; the caller enqueues one job per ticket. A slot whose lease runs out
-- (its worker died, or its job was lost between this script and the queue)
-- goes back to `parked`, due now: nothing is lost and nothing is sent twice
-- at once, because a job only proceeds with the current ticket.
-- An unhealthy subscription gets one slot, and no admission before
-- `nextProbeAt` (set after each failure while unhealthy).
--
-- Retention trimming in webhook-finish deletes other deliveries' records, whose keys
-- it makes from the record-key prefix store/keys.ts builds (passed in ARGV):
-- not declared in KEYS, but under the same hash tag, so in the same slot.
local function admit_due(k, sub, now, cap, lease)
  local expired = redis.call('ZRANGEBYSCORE', k.slots, '-inf', now)
  for _, id in ipairs(expired) do
    redis.call('ZREM', k.slots, id)
    redis.call('HDEL', k.tickets, id)
    redis.call('ZADD', k.parked, now, id)
  end
  local unhealthy = redis.call('HGET', k.health, 'unhealthy') == '1'
  local limit = cap
  local probeAt = 0
  if unhealthy then
    limit = 1
    probeAt = tonumber(redis.call('HGET', k.health, 'nextProbeAt') or '0')
  end
  local admitted = {}
  local free = limit - redis.call('ZCARD', k.slots)
  if now < probeAt then free = 0 end
  while free > 0 do
    local head = redis.call('ZRANGEBYSCORE', k.parked, '-inf', now, 'LIMIT', 0, 1)
    if #head == 0 then break end
    local id = head[1]
    local ticket = tostring(redis.call('INCR', k.seq))
    redis.call('ZREM', k.parked, id)
    redis.call('ZADD', k.slots, now + lease, id)
    redis.call('HSET', k.tickets, id, ticket)
    admitted[#admitted + 1] = id
    admitted[#admitted + 1] = ticket
    free = free - 1
  end
  local wake = nil
  local first = redis.call('ZRANGE', k.slots, 0, 0, 'WITHSCORES')
  if #first > 0 then wake = tonumber(first[2]) end
  if redis.call('ZCARD', k.slots) < limit then
    local nextParked = redis.call('ZRANGE', k.parked, 0, 0, 'WITHSCORES')
    if #nextParked > 0 then
      local at = math.max(tonumber(nextParked[2]), probeAt)
      if wake == nil or at < wake then wake = at end
    end
  end
  if wake == nil then redis.call('ZREM', k.wakeups, sub) else redis.call('ZADD', k.wakeups, wake, sub) end
  local lane = 'main'
  if unhealthy then lane = 'probe' end
  return {lane, admitted}
end
