/**
 * `npm run demo`: mailsync against the bundled sandbox of Microsoft 365, step
 * by step, as a newcomer would drive it through the API. With `--ci` it exits
 * 0 after the last step; otherwise it leaves everything running (Ctrl-C stops all).
 */
import { mkdtemp } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, SANDBOX_USERS, startSandbox, type Sandbox } from '../sandbox/index.js';
import { freePort } from '../sandbox/ports.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/logging/logger.js';
import { startService, type RunningService } from '../src/server.js';
import { StepFailed, Steps } from './demo-steps.js';

const ci = process.argv.includes('--ci');
const API_KEY = 'sandbox-api-key-0123456789';
const steps = new Steps();
let sandbox: Sandbox | undefined;
let service: RunningService | undefined;

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${service!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as T & { detail?: string; hint?: string };
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${json.detail ?? ''} ${json.hint ?? ''}`.trim());
  return json;
}

async function stopAll(): Promise<void> {
  await service?.close().catch(() => undefined);
  await sandbox?.stop().catch(() => undefined);
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? (await freePort()));
  const publicUrl = `http://127.0.0.1:${port}`;
  const logDir = await mkdtemp(join(tmpdir(), 'mailsync-demo-'));
  const logFile = join(logDir, 'service.log');

  sandbox = await steps.run('Start the sandbox: Redis, identity platform, Dovecot (IMAP), SMTP, webhook receiver',
    { fix: 'Run as root on Debian so the sandbox can install and start redis-server and dovecot (scripts/ensure-deps.sh).' },
    () => startSandbox({ publicUrl }));

  service = await steps.run(`Start mailsync (ROLE=all) on ${publicUrl}`, { fix: `Read the service log: ${logFile}` }, async () => {
    const config = loadConfig({ ...sandbox!.serviceEnv(), SANDBOX: 'true', API_KEYS: API_KEY, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: publicUrl, LOG_LEVEL: 'info' });
    return startService(config, createLogger({ level: 'info' }, createWriteStream(logFile)));
  });

  const connection = await steps.run('Register the app-only connection (tenant id, client id, client secret)',
    { fix: 'Check the request against the README section "Connections".' },
    () => api<{ id: string; authority: string }>('POST', '/v1/connections', {
      name: 'Contoso (sandbox)', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox!.identity.url,
    }));
  steps.say(`connection ${connection.id}, authority ${connection.authority}`);

  const verified = await steps.run('Verify it: acquire an app-only token now',
    { fix: 'The problems listed name the setup step to fix.' },
    async () => {
      const result = await api<{ ok: boolean; roles: string[]; expiresAt: string; problems: { code: string; hint?: string }[] }>('POST', `/v1/connections/${connection.id}/verify`);
      if (!result.ok) throw new Error(result.problems.map((p) => `${p.code}: ${p.hint ?? ''}`).join('; '));
      return result;
    });
  steps.say(`roles ${verified.roles.join(', ')}; token valid until ${verified.expiresAt}`);

  const mailbox = await steps.run(`Add the mailbox ${SANDBOX_USERS.support}`, { fix: 'See the README section "Mailboxes".' },
    () => api<{ id: string; state: string }>('POST', '/v1/mailboxes', {
      connectionId: connection.id, email: SANDBOX_USERS.support, pollIntervalSeconds: 1, ...sandbox!.mailServers(),
    }));
  steps.say(`mailbox ${mailbox.id} is ${mailbox.state}`);

  await steps.run('A customer writes to the mailbox (delivered into Dovecot)', { fix: 'Check the Dovecot log in the sandbox dir.' },
    () => sandbox!.dovecot.deliver(SANDBOX_USERS.support,
      `From: Customer <customer@example.org>\r\nTo: ${SANDBOX_USERS.support}\r\nSubject: My order has not arrived\r\nMessage-ID: <demo-1@example.org>\r\n\r\nHello, where is my order?\r\n`));

  process.stdout.write(`\nmailsync: ${publicUrl}  (API docs ${publicUrl}/docs, API key ${API_KEY})\n`);
  process.stdout.write(`sandbox identity platform: ${sandbox.identity.url}; webhook receiver: ${sandbox.receiver.url}\n`);
  process.stdout.write(`service log: ${logFile}\n`);
}

try {
  await main();
  if (ci) {
    await stopAll();
    process.exit(0);
  }
  process.stdout.write('\nEverything keeps running; Ctrl-C stops it all.\n');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void stopAll().then(() => process.exit(0)));
  }
} catch (err) {
  await stopAll();
  if (!(err instanceof StepFailed)) process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
}
