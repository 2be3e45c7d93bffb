/**
 * `npm run sandbox`: starts the local Microsoft 365 sandbox and prints how to
 * point the service at it. Ctrl-C stops everything it started.
 */
import { SANDBOX_APP_ONLY, SANDBOX_DELEGATED, SANDBOX_TENANT, SANDBOX_USERS, startSandbox } from './index.js';

const publicUrl = process.env.PUBLIC_URL ?? `http://localhost:${process.env.PORT ?? '3000'}`;
const sandbox = await startSandbox({ publicUrl });
const env = sandbox.serviceEnv();
const { imap, smtp } = sandbox.mailServers();
const lines = [
  'mailsync sandbox is running.',
  '',
  `  identity platform  ${sandbox.identity.url}  (tenant ${SANDBOX_TENANT.id})`,
  `  IMAP (Dovecot)     ${imap.host}:${imap.port}  TLS`,
  `  SMTP               ${smtp.host}:${smtp.port}  STARTTLS, XOAUTH2`,
  `  webhook receiver   ${sandbox.receiver.url}`,
  `  Redis              ${env.REDIS_URL}`,
  '',
  'Start the service against it:',
  '',
  `  ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} \\`,
  `  SANDBOX=true API_KEYS=sandbox-api-key-0123456789 PUBLIC_URL=${publicUrl} npm start`,
  '',
  'Register the app-only connection:',
  '',
  `  curl -s -X POST ${publicUrl}/v1/connections -H 'authorization: Bearer sandbox-api-key-0123456789' -H 'content-type: application/json' \\`,
  `    -d '${JSON.stringify({ name: 'Contoso (sandbox)', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url })}'`,
  '',
  `Delegated app: client id ${SANDBOX_DELEGATED.clientId}, secret ${SANDBOX_DELEGATED.secret} (sandbox only).`,
  `Mailboxes: ${Object.values(SANDBOX_USERS).join(', ')}; IMAP/SMTP overrides: ${JSON.stringify(sandbox.mailServers())}`,
  '',
  'Ctrl-C stops the sandbox.',
];
process.stdout.write(`${lines.join('\n')}\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write('stopping the sandbox…\n');
    void sandbox.stop().then(() => process.exit(0));
  });
}
