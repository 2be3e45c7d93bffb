/**
 * The steps of the setup guide (shared/product/setup-guide.txt), in its
 * order. Every hint the service gives names the step that fixes it, so the
 * README can map each doctor hint to one place in the walk-through.
 */
export const SETUP_STEPS = {
  app_registration: 'Register the application (App registrations → New registration)',
  tenant_and_client_id: 'Copy the Application (client) ID and Directory (tenant) ID',
  // Named before certificates and federated credentials; kept, as clients switch on it.
  client_secret: 'Create a client credential: a client secret (copy its Value), a certificate, or a federated credential',
  redirect_uri: 'Add the callback URL as a Web redirect URI',
  api_permissions: 'Add the Office 365 Exchange Online API permissions',
  admin_consent: 'Grant admin consent',
  service_principal: 'Register the service principal in Exchange (New-ServicePrincipal)',
  mailbox_permission: 'Give the service principal access to the mailbox (Add-MailboxPermission)',
  send_as_permission: 'Let the mailbox send as a shared address (Add-RecipientPermission … -AccessRights SendAs)',
  smtp_auth: 'Enable SMTP AUTH for the organisation or the mailbox',
  user_sign_in: 'Sign in as the mailbox user (Set up / Renew OAuth connection)',
  network: 'Let the service reach Microsoft (network, proxy, CA certificates)',
} as const;

export type SetupStep = keyof typeof SETUP_STEPS;
