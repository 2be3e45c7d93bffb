/**
 * A delegated shared mailbox: the agent signs in, and the SASL XOAUTH2 `user=`
 * is the shared mailbox with the agent's token. Exchange refuses such a login
 * without a word (IMAP `NO AUTHENTICATE failed.`, SMTP `535 5.7.3`) when the
 * agent lacks Full Access to the shared mailbox, so both mail adapters name
 * that fix, with its own code, whenever a login with `signInAs` is refused.
 */
export const SHARED_ACCESS_CODE = 'shared_mailbox_access_denied' as const;

export function sharedAccessHint(shared: string, agent: string): string {
  return `Exchange refused ${agent}'s token for the shared mailbox ${shared}: give the agent Full Access in Exchange Online PowerShell, ` +
    `Add-MailboxPermission -Identity ${shared} -User ${agent} -AccessRights FullAccess -InheritanceType All ` +
    '(changes take up to an hour to apply). If the permission is in place, renew the sign-in: POST /v1/mailboxes/{id}/authorize, signing in as the agent.';
}
