-- An event's stored content (store/keys.ts webhookDelivery.content: a hash of the JSON members of
-- each part, domain/webhooks/content.ts) is held by the deliveries that want it: one field
-- `h:<deliveryId>` each, and their count in `holders`. Holding and releasing are idempotent (a
-- delivery holds once, however often it is published or finished); the last release deletes the
-- content. The key's TTL bounds it when a release never comes (a subscription deleted mid-way).
local function hold_content(key, id)
  if redis.call('HSETNX', key, 'h:' .. id, 1) == 1 then redis.call('HINCRBY', key, 'holders', 1) end
end

local function release_content(key, id)
  if redis.call('HDEL', key, 'h:' .. id) == 1 and redis.call('HINCRBY', key, 'holders', -1) <= 0 then
    redis.call('DEL', key)
  end
end
