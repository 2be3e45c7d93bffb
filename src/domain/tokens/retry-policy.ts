/**
 * Whether a token failure is worth retrying. Outages of the identity platform
 * always are. Configuration errors (a wrong secret, missing consent) are not,
 * except while the connection is new or was just changed: changes in the
 * Azure portal take tens of minutes to reach every server, so the first
 * failures of a fresh setup are often not the user's mistake.
 */
import { classify } from '../../errors/classify.js';

/** How long a changed connection's configuration errors count as "maybe not propagated yet". */
export const PROPAGATION_WINDOW_MS = 60 * 60 * 1000;

const NEVER_PROPAGATION: ReadonlySet<string> = new Set(['tenant_required', 'malformed_token_request', 'not_authorized', 'refresh_token_expired', 'grant_revoked']);

export interface RetryDecision {
  retry: boolean;
  /** True when we retry only because the setup is new. */
  awaitingPropagation: boolean;
}

export function tokenRetryDecision(err: unknown, connectionChangedAt: Date, now = new Date()): RetryDecision {
  const c = classify(err);
  if (c.retryable) return { retry: true, awaitingPropagation: false };
  const young = now.getTime() - connectionChangedAt.getTime() < PROPAGATION_WINDOW_MS;
  if (young && c.status === 422 && !NEVER_PROPAGATION.has(c.code)) return { retry: true, awaitingPropagation: true };
  return { retry: false, awaitingPropagation: false };
}
