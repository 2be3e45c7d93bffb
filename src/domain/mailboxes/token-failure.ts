/**
 * What a failed token acquisition does to a mailbox: the failure becomes its
 * `lastError` (code, detail, hint and setup step, as the problem documents
 * give them), and a failure only the user can fix (a revoked or expired
 * sign-in, a wrong secret, missing consent) puts it in `auth_error`, where
 * polling stops asking Microsoft until someone acts ("Renew OAuth
 * connection" clears it). Outages of the identity platform are retried, so
 * they are recorded without changing the state. A paused mailbox stays paused.
 */
import { classify } from '../../errors/classify.js';
import type { LastErrorT, MailboxStateT } from './model.js';
import type { MailboxRecord, MailboxService } from './service.js';

export function lastErrorOf(err: unknown, at: Date): LastErrorT {
  const c = classify(err);
  return {
    code: c.code,
    detail: c.detail,
    ...(c.hint ? { hint: c.hint } : {}),
    ...(c.step ? { setupStep: c.step } : {}),
    at: at.toISOString(),
  };
}

function stateAfter(current: MailboxStateT, retryable: boolean): MailboxStateT {
  if (current === 'paused' || retryable) return current;
  // Never signed in: it still waits for its first sign-in, which is what the error says.
  if (current === 'pending_authorization') return current;
  return 'auth_error';
}

/** Records a token failure on the mailbox and answers the updated record. */
export async function recordTokenFailure(
  mailboxes: Pick<MailboxService, 'change'>,
  mailboxId: string,
  err: unknown,
  now: Date = new Date(),
): Promise<MailboxRecord> {
  const { retryable } = classify(err);
  return mailboxes.change(mailboxId, (current) => ({
    ...current,
    state: stateAfter(current.state, retryable),
    lastError: lastErrorOf(err, now),
  }));
}
