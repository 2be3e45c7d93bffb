/** What the sandbox SMTP server does; tests change it with `setBehaviour`. */

export type AuthFailure = 'smtp_auth_disabled' | 'auth_unsuccessful' | 'criteria_not_met';

export interface SmtpBehaviour {
  /**
   * Refuse every AUTH, whatever the token: `smtp_auth_disabled` and `criteria_not_met` give
   * Exchange's two `535 5.7.139` texts, `auth_unsuccessful` the generic `535 5.7.3`.
   */
  authFailure: null | AuthFailure;
  /** Refuse only the next N AUTHs, then succeed again (null: always while `authFailure` is set). */
  authFailureTimes: number | null;
  /**
   * `421 4.7.0 …` then the connection is closed, at MAIL FROM (default) or in place of the
   * greeting (`at: 'connect'`), for the next `times` transactions or connections (null: always).
   */
  throttle: null | { times: number | null; at?: 'mail' | 'connect' };
  /** Per recipient address (case-insensitive): 452 4.5.3 Too many recipients, or 550 5.1.10 RecipientNotFound. */
  rejectRecipients: Record<string, 452 | 550>;
  /** Answer the end of DATA with `<code> <message>` (write the enhanced status code into `message`). */
  dataFailure: null | { code: number; message: string; times: number | null };
  /** SIZE advertised in EHLO and enforced at MAIL FROM (SIZE=) and at the end of DATA (552 5.3.4). */
  maxMessageBytes: number;
  /** More than this many RCPT TO in one message: 452 4.5.3 Too many recipients (Exchange's default is 500). */
  maxRecipientsPerMessage: number;
  /**
   * MAIL FROM must be the authenticated address (550 5.7.60 otherwise), except these addresses
   * (a SendAs permission); 'any' turns the check off.
   */
  allowedSenders: string[] | 'any';
  /**
   * Send As permissions: mailbox (the SASL user) → addresses it may send as (case-insensitive).
   * A From header address that is neither the authenticated user, nor granted here, nor in
   * `allowedSenders` is refused at the end of DATA with Exchange's `554 5.2.252 SendAsDenied`.
   */
  sendAsGrants: Record<string, string[]>;
  /** Authenticated connections one mailbox may hold at once; the next AUTH gets `432 4.3.2` (Exchange: 3). */
  maxConnectionsPerMailbox: number;
}

/** 35 MB: the newer Exchange Online service description (unverified, see microsoft-facts.md). */
export const DEFAULT_MAX_MESSAGE_BYTES = 35 * 1024 * 1024;

export function defaultBehaviour(): SmtpBehaviour {
  return {
    authFailure: null,
    authFailureTimes: null,
    throttle: null,
    rejectRecipients: {},
    dataFailure: null,
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    maxRecipientsPerMessage: 500,
    allowedSenders: [],
    sendAsGrants: {},
    maxConnectionsPerMailbox: 3,
  };
}

/**
 * Counts one use of a failure that lasts `times` more uses (null: unlimited). Returns the
 * count left afterwards: 0 means the failure is used up and should be cleared.
 */
export function consumeOnce(times: number | null): number | null {
  return times === null ? null : Math.max(0, times - 1);
}
