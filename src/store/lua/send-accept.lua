-- Accepts a batch of messages (store/send-store.ts: sent with EVAL inside MULTI, after an MSET of
-- the small contents; a large one was written before, expiring, and is kept here with PERSIST).
-- A message whose Idempotency-Key is already claimed is not stored: the script deletes the
-- content written for it, inside the same transaction.
-- KEYS: pending, outbox, scheduled, then per message: record, content, claim (the record's key
-- again when there is no claim). ARGV: per message (ARGS_PER_MESSAGE, 10, of them, as accept() in
-- send-store.ts builds them): id, createdMs, claim value ('' for none), claim ttl, mailboxId,
-- recipients, messageId, createdAt, dueMs ('' when it is due now), sendAt ('' for none).
-- A message due now is queued: in the pending index and the outbox. A message due later is
-- scheduled: in the scheduled set by its due time only, until send-release-due moves it.
-- Answers per message: '' stored, else the claim the key already had.
local ARGS_PER_MESSAGE = 10
local out, due, ids, later = {}, {}, {}, {}
for i = 0, (#KEYS - 3) / 3 - 1 do
  local record, content, claim = KEYS[4 + i * 3], KEYS[5 + i * 3], KEYS[6 + i * 3]
  local a = i * ARGS_PER_MESSAGE
  local existing = false
  if ARGV[a + 3] ~= '' then existing = redis.call('GET', claim) end
  if existing then
    redis.call('DEL', content)
    out[i + 1] = existing
  else
    local dueMs = ARGV[a + 9]
    local status = 'queued'
    if dueMs ~= '' then status = 'scheduled' end
    redis.call('HSET', record, 'id', ARGV[a + 1], 'mailboxId', ARGV[a + 5], 'status', status, 'attempts', '0',
      'recipients', ARGV[a + 6], 'messageId', ARGV[a + 7], 'createdAt', ARGV[a + 8], 'updatedAt', ARGV[a + 8])
    if ARGV[a + 10] ~= '' then redis.call('HSET', record, 'sendAt', ARGV[a + 10]) end
    redis.call('PERSIST', content)
    if ARGV[a + 3] ~= '' then redis.call('SET', claim, ARGV[a + 3], 'EX', ARGV[a + 4]) end
    if dueMs ~= '' then
      later[#later + 1] = dueMs
      later[#later + 1] = ARGV[a + 1]
    else
      due[#due + 1] = ARGV[a + 2]
      due[#due + 1] = ARGV[a + 1]
      ids[#ids + 1] = ARGV[a + 1]
    end
    out[i + 1] = ''
  end
end
if #ids > 0 then
  redis.call('ZADD', KEYS[1], unpack(due))
  redis.call('RPUSH', KEYS[2], unpack(ids))
end
if #later > 0 then redis.call('ZADD', KEYS[3], unpack(later)) end
return out
