/**
 * Exchange Online's mailbox permissions as the sandbox knows them: which
 * users have Full Access to which (shared) mailbox, the result of
 * `Add-MailboxPermission -Identity <shared> -User <agent> -AccessRights FullAccess`.
 * The SMTP imitation and the IMAP front (imap-proxy.ts, `sharedAccess`) read
 * it to let an agent's delegated token open a shared mailbox. Addresses are
 * compared case-insensitively. Plain in-memory state; tests drive it.
 */
export class MailboxPermissions {
  private readonly fullAccess = new Map<string, Set<string>>();

  /** Add-MailboxPermission … -AccessRights FullAccess (true) or Remove-MailboxPermission (false). */
  setFullAccess(shared: string, agent: string, allowed: boolean): void {
    const agents = this.fullAccess.get(shared.toLowerCase()) ?? new Set<string>();
    if (allowed) agents.add(agent.toLowerCase());
    else agents.delete(agent.toLowerCase());
    this.fullAccess.set(shared.toLowerCase(), agents);
  }

  hasFullAccess(shared: string, agent: string): boolean {
    return this.fullAccess.get(shared.toLowerCase())?.has(agent.toLowerCase()) ?? false;
  }
}
