/**
 * Reply texts of Exchange Online's SMTP submission endpoint (smtp.office365.com:587),
 * as documented in /work/shared/product/microsoft-facts.md or widely reported.
 *
 * The sandbox runs smtp-server with `hideENHANCEDSTATUSCODES: true` and writes the
 * enhanced status code into each text itself: smtp-server would otherwise derive one
 * from the reply code alone (535 → 5.7.8, 550 → 5.1.1, 452 → 4.2.2) and prepend it,
 * giving e.g. `535 5.7.8 5.7.3 Authentication unsuccessful`.
 */
import type { SMTPServerError } from 'smtp-server';

export const REPLIES = {
  authUnsuccessful: { code: 535, text: '5.7.3 Authentication unsuccessful' },
  smtpAuthDisabled: {
    code: 535,
    text:
      '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. ' +
      'Visit https://aka.ms/smtp_auth_disabled for more information.',
  },
  criteriaNotMet: {
    code: 535,
    text: '5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully.',
  },
  sendAsDenied: { code: 550, text: '5.7.60 SMTP; Client does not have permissions to send as this sender' },
  // Send As refused on the From header, at the end of DATA (microsoft-facts.md).
  sendAsDeniedHeader: (user: string, address: string) => ({
    code: 554,
    text:
      `5.2.252 SendAsDenied; ${user} not allowed to send as ${address}; ` +
      'STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied',
  }),
  concurrentConnections: {
    code: 432,
    text: '4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.',
  },
  // Reported in the wild; microsoft-facts.md gives the codes and the words SubmissionQuotaExceeded and mailbox full.
  submissionQuotaExceeded: {
    code: 554,
    text: '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception',
  },
  mailboxFull: { code: 554, text: '5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException' },
  // Exchange's wording for a transient front-end refusal; the sandbox uses it for throttling.
  // (Reported in the wild; the exact text Exchange uses when it throttles submission is unverified.)
  throttled: { code: 421, text: '4.7.0 Temporary server error. Please try again later. PRX4' },
  recipientNotFound: (address: string) => ({
    code: 550,
    text: `5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ${address} not found by SMTP address lookup`,
  }),
  tooManyRecipients: { code: 452, text: '4.5.3 Too many recipients' },
  messageTooBig: { code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' },
  authRequired: '5.7.57 Client not authenticated to send mail.',
  shuttingDown: { code: 421, text: '4.3.2 Service not available, closing transmission channel' },
} as const;

export interface Reply {
  code: number;
  text: string;
}

/** An error that smtp-server turns into the reply `<code> <text>`. */
export function replyError(reply: Reply): SMTPServerError {
  const err: SMTPServerError = new Error(reply.text);
  err.responseCode = reply.code;
  return err;
}

/** The reply line as the client sees it, for the sandbox's own records. */
export function replyLine(reply: Reply): string {
  return `${reply.code} ${reply.text}`;
}
