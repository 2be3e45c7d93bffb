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

async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
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

  const hook = await steps.run(`Subscribe a webhook (the sandbox receiver, which verifies Standard Webhooks signatures)`,
    { fix: 'See the README section "Webhooks".' },
    () => api<{ id: string; secret: string }>('POST', '/v1/webhooks', {
      url: `${sandbox!.receiver.url}/mailsync`, events: ['message.received', 'message.sent', 'message.failed', 'mailbox.error'],
    }));
  sandbox.receiver.setSecrets([hook.secret]);
  steps.say(`webhook ${hook.id}; its secret is shown once, at creation`);

  const mailbox = await steps.run(`Add the mailbox ${SANDBOX_USERS.support}`, { fix: 'See the README section "Mailboxes".' },
    () => api<{ id: string; state: string }>('POST', '/v1/mailboxes', {
      connectionId: connection.id, email: SANDBOX_USERS.support, pollIntervalSeconds: 1, ...sandbox!.mailServers(),
    }));
  steps.say(`mailbox ${mailbox.id} is ${mailbox.state}`);

  await steps.run('Wait for the first poll (the baseline: mail already there is not announced)', { fix: 'Check the mailbox state: GET /v1/mailboxes/{id}.' },
    () => until(async () => (await api<{ lastPollAt: string | null }>('GET', `/v1/mailboxes/${mailbox.id}`)).lastPollAt !== null, 20_000));

  await steps.run('A customer writes to the mailbox (delivered into Dovecot)', { fix: 'Check the Dovecot log in the sandbox dir.' },
    () => sandbox!.dovecot.deliver(SANDBOX_USERS.support,
      `From: Customer <customer@example.org>\r\nTo: ${SANDBOX_USERS.support}\r\nSubject: My order has not arrived\r\nMessage-ID: <demo-1@example.org>\r\n\r\nHello, where is my order?\r\n`));

  const announced = await steps.run('mailsync polls, and the webhook announces the new mail (signature verified)',
    { fix: 'Look at GET /v1/webhooks/{id}/deliveries and the mailbox lastError.' },
    () => until(() => sandbox!.receiver.received.find((d) => d.type === 'message.received'), 30_000));
  const data = (announced.body as { data: { subject: string; from: string[]; uid: number } }).data;
  steps.say(`webhook-id ${announced.id}, verified ${announced.verified}: "${data.subject}" from ${data.from.join(', ')} (uid ${data.uid})`);

  const sent = await steps.run('Reply through POST /v1/send (queued, then sent over SMTP AUTH XOAUTH2)',
    { fix: 'GET /v1/send/{id} shows the SMTP answer and the hint.' },
    async () => {
      const accepted = await api<{ id: string }>('POST', '/v1/send', {
        mailboxId: mailbox.id, to: ['customer@example.org'], subject: 'Re: My order has not arrived',
        text: 'Hello, your order left our warehouse today.', inReplyTo: '<demo-1@example.org>', references: ['<demo-1@example.org>'],
      });
      return until(async () => {
        const status = await api<{ status: string; messageId: string | null; smtpResponse: string | null; error: { detail: string } | null }>('GET', `/v1/send/${accepted.id}`);
        if (status.status === 'failed') throw new Error(status.error?.detail ?? 'send failed');
        return status.status === 'sent' ? { id: accepted.id, ...status } : undefined;
      }, 30_000);
    });
  steps.say(`send ${sent.id}: ${sent.smtpResponse ?? ''}`);

  const [message] = await steps.run('The SMTP server received it, with a token it verified', { fix: 'Check the sandbox SMTP server.' },
    () => sandbox!.smtp.waitForMessages(1, 10_000));
  steps.say(`"${message!.parsed.subject}" to ${message!.envelope.to.join(', ')}, authenticated as ${message!.authUser} (roles ${String(message!.tokenClaims.roles)})`);

  const report = await steps.run("The doctor's report for the mailbox", { fix: 'Each failed step names the setup step that fixes it.' },
    () => api<{ ok: boolean; steps: { step: string; ok: boolean; detail: string }[] }>('POST', `/v1/mailboxes/${mailbox.id}/diagnose`));
  steps.say(report.steps.map((s) => `${s.ok ? 'ok  ' : 'FAIL'} ${s.step}: ${s.detail}`).join('\n'));

  process.stdout.write(`\nmailsync: ${publicUrl}  (API docs ${publicUrl}/docs, API key ${API_KEY})\n`);
  process.stdout.write(`sandbox identity platform: ${sandbox.identity.url}; webhook receiver: ${sandbox.receiver.url}\n`);
  process.stdout.write(`service log: ${logFile}\n`);
  process.stdout.write(`\nconsole: ${publicUrl}/console  (sign in with the API key ${API_KEY})\n`);
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
