/**
 * When a mailbox is polled next. Polls are spread over the interval (a
 * mailbox's phase comes from its id, so a thousand mailboxes added at once do
 * not all fire in the same second, and a restart keeps their rhythm); errors
 * back off exponentially with full jitter up to a cap; a throttled mailbox
 * waits at least what Exchange asked for. Pure: no I/O.
 */
import { createHash } from 'node:crypto';

export const ERROR_BACKOFF_BASE_MS = 5_000;
export const ERROR_BACKOFF_CAP_MS = 15 * 60_000;

/** A stable phase in [0, intervalMs) for a mailbox. */
export function phaseOf(mailboxId: string, intervalMs: number): number {
  const n = createHash('sha256').update(mailboxId).digest().readUInt32BE(0);
  return n % Math.max(1, intervalMs);
}

/** The first poll of a newly added mailbox: at its phase within the first interval. */
export function firstPollAt(mailboxId: string, intervalMs: number, now: number): number {
  return now + phaseOf(mailboxId, intervalMs);
}

/** The next regular poll: one interval after the previous due time, never in the past. */
export function nextPollAt(previousDue: number, intervalMs: number, now: number): number {
  let next = previousDue + intervalMs;
  // A poll that ran very late (worker down) resumes the rhythm instead of firing a burst.
  if (next <= now) next = now + ((next - now) % intervalMs + intervalMs) % intervalMs;
  return next;
}

/** After `failures` consecutive failures: exponential with equal jitter (half fixed, half random), capped, never below the interval. */
export function backoffDelayMs(failures: number, intervalMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(ERROR_BACKOFF_CAP_MS, ERROR_BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.max(intervalMs, Math.round(ceiling * (0.5 + random() / 2)));
}

/** Exchange's "Suggested Backoff Time: N milliseconds", honoured with a little slack. */
export function throttleDelayMs(suggestedMs: number | undefined, intervalMs: number): number {
  const suggested = Number.isFinite(suggestedMs) && suggestedMs! > 0 ? suggestedMs! : 60_000;
  return Math.max(intervalMs, Math.round(suggested * 1.1));
}
