// The setup guide's steps (README, "Connecting a real Microsoft 365 tenant"), by the names
// the service gives them in `setupStep`, with the PowerShell lines the wizard fills in.

export const STEPS = [
  { id: 'app_registration', title: 'Register the application' },
  { id: 'tenant_and_client_id', title: 'Copy the client and tenant ids' },
  { id: 'client_secret', title: 'Create a client secret or upload a certificate' },
  { id: 'api_permissions', title: 'Add the API permissions' },
  { id: 'admin_consent', title: 'Grant admin consent' },
  { id: 'service_principal', title: 'Register the service principal in Exchange', flow: 'app_only' },
  { id: 'mailbox_permission', title: 'Give it the mailbox', flow: 'app_only' },
  { id: 'user_sign_in', title: 'Add the mailbox and sign in as its user', flow: 'delegated' },
  { id: 'smtp_auth', title: 'Enable SMTP AUTH' },
  { id: 'done', title: 'Done: the mailbox receives mail' },
];

const OTHER_STEPS = {
  redirect_uri: 'Register the application (redirect URI)',
  send_as_permission: 'Let the mailbox Send As the address',
  network: 'Reach Microsoft (network)',
};

export function setupStepTitle(id) {
  return STEPS.find((s) => s.id === id)?.title ?? OTHER_STEPS[id] ?? id;
}

/** The step the wizard shows for a `setupStep` the service named (redirect_uri is part of registering). */
export function wizardStepOf(setupStep) {
  if (setupStep === 'redirect_uri') return 'app_registration';
  return STEPS.some((s) => s.id === setupStep) ? setupStep : undefined;
}

export const stepsFor = (flow) => STEPS.filter((s) => !s.flow || s.flow === flow);

/** The permissions of the API permissions step, per flow. */
export const PERMISSIONS = {
  app_only: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'],
  delegated: ['IMAP.AccessAsUser.All', 'SMTP.Send', 'offline_access'],
};

const psString = (value) => `"${String(value).replaceAll('"', '`"')}"`;
const orPlaceholder = (value, name) => (value ? psString(value) : `<${name}>`);

/** Exchange Online PowerShell for the service principal step. */
export function servicePrincipalLines(clientId, objectId) {
  return [
    'Connect-ExchangeOnline',
    `New-ServicePrincipal -AppId ${orPlaceholder(clientId, 'APPLICATION_ID')} -ObjectId ${orPlaceholder(objectId, 'OBJECT_ID')}`,
  ];
}

/** Exchange Online PowerShell for the mailbox permission step. */
export function mailboxPermissionLines(email, objectId) {
  return [`Add-MailboxPermission -Identity ${orPlaceholder(email, 'ACCOUNT_EMAIL')} -User ${orPlaceholder(objectId, 'SERVICE_PRINCIPAL_ID')} -AccessRights FullAccess`];
}

/** Exchange Online PowerShell for the SMTP AUTH step (per mailbox). */
export function smtpAuthLines(email) {
  return [`Set-CASMailbox -Identity ${orPlaceholder(email, 'ACCOUNT_EMAIL')} -SmtpClientAuthenticationDisabled $false`];
}

/** Which wizard steps a passed doctor step proves, and the step a failed one points at when it names none. */
export const DOCTOR_STEPS = {
  token: { proves: ['tenant_and_client_id', 'client_secret'], fallback: 'client_secret' },
  permissions: { proves: ['api_permissions', 'admin_consent'], fallback: 'api_permissions' },
  imap_login: { proves: ['service_principal', 'mailbox_permission', 'user_sign_in'], fallback: 'mailbox_permission' },
  imap_folders: { proves: [], fallback: 'mailbox_permission' },
  smtp_auth: { proves: ['smtp_auth'], fallback: 'smtp_auth' },
};
