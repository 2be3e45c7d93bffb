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

// The scripts are store/lua/poll-*.lua; each reads a mailbox's interval through includes/interval-of.lua.
/** Schedules a mailbox (its KEYS and ARGV in the file). Answers the previous due time, or nil. */
export const SCHEDULE = new LuaScript('poll-schedule-3');

/** Unschedules a mailbox. Answers the previous due time, or nil. */
export const UNSCHEDULE = new LuaScript('poll-unschedule-2');

/** Builds the overdue index from pollDue when it is absent: 1 when it is there, 0 when pollDue changed meanwhile. */
export const BUILD_OVERDUE_INDEX = new LuaScript('poll-build-overdue-index');
