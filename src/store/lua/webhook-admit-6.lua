-- Admits what is due for one subscription (the sweeper's step, and recovery of lost slots).
-- KEYS: slots, parked, tickets, health, wakeups, seq. ARGV: sub, now, cap, lease.
--- @include "admit-due"
local k = { slots = KEYS[1], parked = KEYS[2], tickets = KEYS[3], health = KEYS[4], wakeups = KEYS[5], seq = KEYS[6] }
return admit_due(k, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
