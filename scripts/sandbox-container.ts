/**
 * The sandbox in a container (`docker compose --profile sandbox up`, image
 * docker/sandbox.Dockerfile): starts the local imitation of Microsoft 365 in
 * SANDBOX_DIR (a volume) and writes there `service.env`, the environment that
 * points mailsync at it. The `sandbox-mailsync` service shares this
 * container's network (the sandbox listens on loopback, on ports chosen at
 * start) and the volume (the test CA), reads that file and starts.
 *
 * The file is written whole under another name and renamed, so a reader
 * never sees half of it. Ctrl-C / SIGTERM stop everything the sandbox started.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, SANDBOX_USERS, startSandbox } from '../sandbox/index.js';

const dir = process.env.SANDBOX_DIR ?? '/sandbox';
const publicUrl = process.env.PUBLIC_URL ?? 'http://localhost:3100';
const envFile = join(dir, 'service.env');

await rm(envFile, { force: true });
const sandbox = await startSandbox({ dir, publicUrl });
const env = sandbox.serviceEnv();
const quoted = Object.entries(env).map(([name, value]) => `${name}='${value.replace(/'/g, `'\\''`)}'`);
await writeFile(`${envFile}.tmp`, `${quoted.join('\n')}\n`);
await rename(`${envFile}.tmp`, envFile);

process.stdout.write([
  'mailsync sandbox is running; sandbox-mailsync starts with:',
  ...quoted.map((line) => `  ${line}`),
  '',
  'Register the app-only connection (from the host):',
  `  curl -s -X POST ${publicUrl}/v1/connections -H 'authorization: Bearer sandbox-api-key-0123456789' -H 'content-type: application/json' \\`,
  `    -d '${JSON.stringify({ name: 'Contoso (sandbox)', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url })}'`,
  `Mailboxes: ${Object.values(SANDBOX_USERS).join(', ')}; IMAP/SMTP overrides: ${JSON.stringify(sandbox.mailServers())}`,
  `Webhook receiver: ${sandbox.receiver.url}`,
  '',
].join('\n'));

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    void rm(envFile, { force: true })
      .then(() => sandbox.stop())
      .then(() => process.exit(0));
  });
}
