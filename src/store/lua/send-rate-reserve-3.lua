-- Takes a slot in a mailbox's submission windows (store/send-rate-limiter.ts), or answers how long to wait.
-- KEYS: messages zset, recipients zset, recipient counts hash
-- ARGV: now, messages window, messages limit, recipients window, recipients limit, send id, recipient count
local now = tonumber(ARGV[1])
local msgWindow, msgLimit = tonumber(ARGV[2]), tonumber(ARGV[3])
local rcptWindow, rcptLimit = tonumber(ARGV[4]), tonumber(ARGV[5])
local id, count = ARGV[6], tonumber(ARGV[7])
local wait = 0
if msgLimit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - msgWindow)
  if not redis.call('ZSCORE', KEYS[1], id) then
    local n = redis.call('ZCARD', KEYS[1])
    if n >= msgLimit then
      local freeing = redis.call('ZRANGE', KEYS[1], n - msgLimit, n - msgLimit, 'WITHSCORES')
      wait = math.max(wait, tonumber(freeing[2]) + msgWindow - now)
    end
  end
end
local rcptHeld = false
if rcptLimit > 0 then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - rcptWindow, 'LIMIT', 0, 1000)
  for _, old in ipairs(expired) do
    redis.call('HINCRBY', KEYS[3], '_total', -tonumber(redis.call('HGET', KEYS[3], old) or '0'))
    redis.call('HDEL', KEYS[3], old)
    redis.call('ZREM', KEYS[2], old)
  end
  rcptHeld = redis.call('ZSCORE', KEYS[2], id)
  if not rcptHeld then
    local excess = tonumber(redis.call('HGET', KEYS[3], '_total') or '0') + count - rcptLimit
    if excess > 0 then
      local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
      local freed = 0
      for i = 1, #entries, 2 do
        freed = freed + tonumber(redis.call('HGET', KEYS[3], entries[i]) or '0')
        if freed >= excess then
          wait = math.max(wait, tonumber(entries[i + 1]) + rcptWindow - now)
          break
        end
      end
    end
  end
end
if wait > 0 then return math.ceil(wait) end
if msgLimit > 0 then
  redis.call('ZADD', KEYS[1], 'NX', now, id)
  redis.call('PEXPIRE', KEYS[1], msgWindow)
end
if rcptLimit > 0 and not rcptHeld then
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('HSET', KEYS[3], id, count)
  redis.call('HINCRBY', KEYS[3], '_total', count)
  redis.call('PEXPIRE', KEYS[2], rcptWindow)
  redis.call('PEXPIRE', KEYS[3], rcptWindow)
end
return 0
