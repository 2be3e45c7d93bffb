-- Notes when a mailbox's last poll was recorded (store/poll-marks.ts), unless the mailbox is gone:
-- a poll that ends after its mailbox was deleted leaves nothing behind.
-- KEYS: the mailbox record, pollLastAt; ARGV: mailbox id, time (ms). Answers 1 when noted.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
