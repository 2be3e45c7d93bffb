/**
 * The poll schedule's scripts. `pollDue` (mailbox id → due time, ms) is the
 * schedule; `pollOverdueAt` (mailbox id → due time + the mailbox's poll
 * interval) is an index beside it, so "how many mailboxes are overdue by more
 * than one interval" is one ZCOUNT instead of a walk over every mailbox.
 *
 * The index is exact or absent: the scripts write it only while it exists,
 * and BUILD makes it from pollDue in one step when it is absent (the first
 * count after an upgrade, or after the schedule emptied). Both keys and the
 * mailbox records share the control plane's hash tag, so on a cluster each
 * script runs in one slot; a script reads a mailbox's interval from its
 * record only when the caller did not give it.
 */
import { LuaScript } from './lua-script.js';

/** The interval of a mailbox whose record is gone or lacks one (ms): the service's default. */
export const FALLBACK_INTERVAL_MS = 60_000;

// A mailbox's interval in ms: ARGV-given, else its record's pollIntervalSeconds, else the fallback.
const INTERVAL_OF = `
local function intervalOf(given, recordKey, fallback)
  local interval = tonumber(given)
  if interval then return interval end
  local raw = redis.call('GET', recordKey)
  if raw then
    local seconds = cjson.decode(raw).pollIntervalSeconds
    if type(seconds) == 'number' then return seconds * 1000 end
  end
  return tonumber(fallback)
end`;

/**
 * KEYS: pollDue, pollOverdueAt, the mailbox record; ARGV: mailbox id, due (ms), interval (ms, or
 * '' to read it from the record), fallback interval (ms). Answers the previous due time, or nil.
 */
export const SCHEDULE = new LuaScript(`${INTERVAL_OF}
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + intervalOf(ARGV[3], KEYS[3], ARGV[4]), ARGV[1])
end
return previous`);

/** KEYS: pollDue, pollOverdueAt; ARGV: mailbox id. Answers the previous due time, or nil. */
export const UNSCHEDULE = new LuaScript(`
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return previous`);

/**
 * KEYS: pollOverdueAt, pollDue, then the record of each mailbox in ARGV; ARGV: fallback interval
 * (ms), then every mailbox id in pollDue as the caller read it. Builds the index when it is absent
 * and the ids are still exactly pollDue's; answers 1 when the index is there (or pollDue is empty),
 * 0 when pollDue changed meanwhile (read it again and retry).
 */
export const BUILD_OVERDUE_INDEX = new LuaScript(`${INTERVAL_OF}
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local n = #ARGV - 1
if redis.call('ZCARD', KEYS[2]) ~= n then return 0 end
local dues = {}
for i = 1, n do
  local due = redis.call('ZSCORE', KEYS[2], ARGV[i + 1])
  if not due then return 0 end
  dues[i] = tonumber(due)
end
for i = 1, n do
  redis.call('ZADD', KEYS[1], dues[i] + intervalOf(nil, KEYS[i + 2], ARGV[1]), ARGV[i + 1])
end
return 1`);
