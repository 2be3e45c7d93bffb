-- A mailbox's interval in ms: ARGV-given, else its record's pollIntervalSeconds, else the fallback.
local function intervalOf(given, recordKey, fallback)
  local interval = tonumber(given)
  if interval then return interval end
  local raw = redis.call('GET', recordKey)
  if raw then
    local seconds = cjson.decode(raw).pollIntervalSeconds
    if type(seconds) == 'number' then return seconds * 1000 end
  end
  return tonumber(fallback)
end
