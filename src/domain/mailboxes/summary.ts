/**
 * GET /v1/mailboxes/summary: how many mailboxes, in which states, how many
 * are overdue for a poll, and how many worker processes are alive, without
 * listing any. What shows that nothing polls (only ROLE=api deployed, every
 * worker down): workers 0 and overdue growing. Each number is one read of an
 * index (see the ports), never a walk over the mailboxes.
 */
import type { MailboxStateT } from './model.js';

/** Every state, so the answer always has each (0 when none); the type makes a new state fail here. */
export const MAILBOX_STATES: Record<MailboxStateT, true> = {
  active: true, pending_authorization: true, auth_error: true, throttled: true, error: true, paused: true,
};

export interface MailboxSummaryT {
  total: number;
  byState: Record<MailboxStateT, number>;
  /** Mailboxes whose poll is due more than one poll interval ago. */
  overdue: number;
  /** Worker processes whose heartbeat is under 15 s old. */
  workers: number;
}

export interface MailboxSummaryPorts {
  /** The number of mailboxes, and of mailboxes in each state (from the store's counters). */
  counts(): Promise<{ total: number; byState: Record<string, number> }>;
  /** Mailboxes overdue for a poll (the schedule's overdue index). */
  overdue(): Promise<number>;
  /** Live worker processes (the heartbeat set). */
  workers(): Promise<number>;
}

export async function summarizeMailboxes(ports: MailboxSummaryPorts): Promise<MailboxSummaryT> {
  const [counts, overdue, workers] = await Promise.all([ports.counts(), ports.overdue(), ports.workers()]);
  const byState = Object.fromEntries(Object.keys(MAILBOX_STATES).map((state) => [state, counts.byState[state] ?? 0])) as Record<MailboxStateT, number>;
  return { total: counts.total, byState, overdue, workers };
}
