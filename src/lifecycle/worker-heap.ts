/**
 * How much garbage V8 lets a worker's heap hold before a full collection (issue 19).
 *
 * A worker keeps thousands of IMAP sessions open, and every poll replaces a little of each one's
 * state (the IDLE that ended, the commands and promises of the poll), which lived a minute and so
 * sits in the old generation when it dies. V8 lets the old generation grow to its live size times a
 * factor it picks from the GC's speed: up to 4 when the heap may grow to 2 GB or more (Node's default
 * on a large machine). At 10,000 kept sessions (about 300 MB live) the worker's RSS swung between
 * 1.1 and 1.6 GB. A fixed factor of WORKER_HEAP_GROWTH_PERCENT (the `--heap-growing-percent` V8 flag)
 * bounds the swing; a full collection then comes more often, each marking the same live heap.
 *
 * Set at the worker's start (src/main.ts), for roles that run workers: the flag is read each time V8
 * sets the next limit, so setting it after the start works; NODE_OPTIONS cannot carry it (Node
 * refuses the flag there). An operator who passed `--heap-growing-percent` on Node's command line
 * keeps theirs.
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to live size × 1.25 before a full collection. */
export const WORKER_HEAP_GROWTH_PERCENT = 25;

export function limitWorkerHeapGrowth(execArgv: readonly string[] = process.execArgv, percent = WORKER_HEAP_GROWTH_PERCENT): boolean {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
