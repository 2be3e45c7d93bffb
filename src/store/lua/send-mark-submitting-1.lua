-- KEYS: record; ARGV: marker
if redis.call('HGET', KEYS[1], 'status') ~= 'sending' then return 0 end
redis.call('HSET', KEYS[1], 'submitting', ARGV[1])
return 1
