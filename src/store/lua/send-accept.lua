-- Accepts a batch of messages (store/send-store.ts: sent with EVAL inside MULTI, after an MSET of
-- the contents). A message whose Idempotency-Key is already claimed is not stored: the script
-- deletes the content the MSET wrote for it, inside the same transaction.
-- KEYS: pending, outbox, then per message: record, content, claim (the record's key again when
-- there is no claim). ARGV: per message (ARGS_PER_MESSAGE, 8, of them, as accept() in send-store.ts builds them): id,
-- createdMs, claim value ('' for none), claim ttl, mailboxId, recipients, messageId, createdAt.
-- Answers per message: '' stored, else the claim the key already had.
local ARGS_PER_MESSAGE = 8
local out, due, ids = {}, {}, {}
for i = 0, (#KEYS - 2) / 3 - 1 do
  local record, content, claim = KEYS[3 + i * 3], KEYS[4 + i * 3], KEYS[5 + i * 3]
  local a = i * ARGS_PER_MESSAGE
  local existing = false
  if ARGV[a + 3] ~= '' then existing = redis.call('GET', claim) end
  if existing then
    redis.call('DEL', content)
    out[i + 1] = existing
  else
    redis.call('HSET', record, 'id', ARGV[a + 1], 'mailboxId', ARGV[a + 5], 'status', 'queued', 'attempts', '0',
      'recipients', ARGV[a + 6], 'messageId', ARGV[a + 7], 'createdAt', ARGV[a + 8], 'updatedAt', ARGV[a + 8])
    if ARGV[a + 3] ~= '' then redis.call('SET', claim, ARGV[a + 3], 'EX', ARGV[a + 4]) end
    due[#due + 1] = ARGV[a + 2]
    due[#due + 1] = ARGV[a + 1]
    ids[#ids + 1] = ARGV[a + 1]
    out[i + 1] = ''
  end
end
if #ids > 0 then
  redis.call('ZADD', KEYS[1], unpack(due))
  redis.call('RPUSH', KEYS[2], unpack(ids))
end
return out
