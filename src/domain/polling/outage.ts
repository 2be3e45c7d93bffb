/**
 * Polling's rule for a shared outage: which errors say a server every mailbox
 * of a connection (or of an IMAP host) depends on was down, so that the
 * mailbox that gets past it can wake its peers (domain/polling/wake-peers.ts).
 * classify() decides an error's status and retry; this decides only whom it concerns.
 *
 * Which shared server an error says is down or failing for everyone, not for one mailbox: the
 * identity platform (for every mailbox of a connection) or an IMAP server (for every mailbox on
 * it). Once one mailbox gets past such an outage, the others need not wait out their back-off.
 */
export function outageOf(code: string): 'identity_platform' | 'imap_server' | undefined {
  switch (code) {
    case 'identity_platform_unreachable':
    case 'identity_platform_timeout':
    case 'identity_platform_bad_response':
    case 'identity_platform_error':
      return 'identity_platform';
    case 'imap_unreachable':
      return 'imap_server';
    default:
      return undefined;
  }
}
