/**
 * A mailbox's state after a poll, and the events the change deserves.
 * `mailbox.error` and `mailbox.recovered` mark changes of state, not every
 * failed poll: a mailbox failing for an hour announces it once. Pure.
 */
import type { ErrorInfo } from '../events/events.js';
import type { MailboxStateT } from '../mailboxes/model.js';

export type PollOutcome =
  | { kind: 'ok' }
  | { kind: 'auth_error'; error: ErrorInfo }
  | { kind: 'throttled'; error: ErrorInfo }
  | { kind: 'error'; error: ErrorInfo };

export interface Transition {
  state: MailboxStateT;
  /** The event to announce, if the state changed in a way a client cares about. */
  event: { type: 'mailbox.error'; error: ErrorInfo } | { type: 'mailbox.recovered' } | undefined;
}

const FAILING: ReadonlySet<MailboxStateT> = new Set(['auth_error', 'throttled', 'error']);

export function transition(previous: MailboxStateT, outcome: PollOutcome): Transition {
  if (outcome.kind === 'ok') {
    return { state: 'active', event: FAILING.has(previous) ? { type: 'mailbox.recovered' } : undefined };
  }
  const state: MailboxStateT = outcome.kind;
  return { state, event: state === previous ? undefined : { type: 'mailbox.error', error: outcome.error } };
}
