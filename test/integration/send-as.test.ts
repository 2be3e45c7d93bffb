/**
 * Sending as another address (Exchange's Send As) end to end against the sandbox: the From
 * header names the shared address while the session authenticates as the mailbox; the
 * sandbox's 554 5.2.252 SendAsDenied fails the send with send_as_denied and its hint; a
 * 432 4.3.2 (connection cap) is retried, not failed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import type { RecordedMessage } from '../../sandbox/smtp.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';

let connectionId: string;
let serial = 0;

type View = {
  id: string; mailboxId: string; status: string; attempts: number; messageId: string; smtpResponse: string | null;
  error: { code: string; detail: string; hint?: string } | null;
  rejectedRecipients: { address: string; responseCode: number | null; response: string }[];
  createdAt: string; updatedAt: string;
};

const RATE_WINDOW_MS = 5_000;

const sandbox = useSandbox();
const t = useTestApp(() => ({
  ...sandbox.serviceEnv(),
  // Trace: nodemailer's own lines are logged too (and checked for tokens).
  LOG_LEVEL: 'trace',
  SEND_RATE_PER_MINUTE: '30',
  SEND_RATE_WINDOW_MS: String(RATE_WINDOW_MS),
  SEND_RETRY_BASE_MS: '100',
  SEND_THROTTLE_DELAY_MS: '300',
  WEBHOOK_RETRY_BASE_MS: '50',
}), () => sandbox.redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.sent', 'message.failed'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'sending', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().id;
});

/** A mailbox of its own per test: rate windows and SMTP pools are per mailbox. */
async function mailbox(): Promise<{ id: string; email: string }> {
  const email = `sender-${++serial}@contoso.example`;
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds: 86_400, ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id, email };
}

async function send(payload: Record<string, unknown>, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: '/v1/send', headers: { ...t.auth, ...headers }, payload });
}

async function accepted(payload: Record<string, unknown>): Promise<string> {
  const res = await send(payload);
  expect(res.statusCode, res.body).toBe(202);
  expect(res.json()).toEqual({ id: expect.stringMatching(/^snd_/), status: 'queued' });
  return res.json().id;
}

async function view(id: string): Promise<View> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/send/${id}`, headers: t.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as View;
}

async function final(id: string, timeoutMs = 15_000): Promise<View> {
  return waitUntil(`send ${id} to finish`, async () => {
    const v = await view(id);
    return v.status === 'sent' || v.status === 'failed' ? v : undefined;
  }, timeoutMs);
}

const arrived = (messageId: string): RecordedMessage[] => sandbox.smtp.messages.filter((m) => m.parsed.messageId === messageId);
const event = (type: string, sendId: string) =>
  sandbox.receiver.waitFor((d) => d.type === type && (d.body as { data: { sendId: string } }).data.sendId === sendId);

describe('POST /v1/send with from (Send As)', () => {
  it('sends with the From header naming the shared address; the session and the envelope stay the mailbox', async () => {
    const agent = await mailbox();
    const shared = `shared-${serial}@contoso.example`;
    sandbox.smtp.setBehaviour({ sendAsGrants: { [agent.email]: [shared] } });
    try {
      const id = await accepted({ mailboxId: agent.id, from: { name: 'Contoso Support', address: shared }, to: ['a@example.org'], subject: 'as shared', text: 'x' });
      const done = await final(id);
      expect(done).toMatchObject({ status: 'sent', attempts: 1, error: null });
      const [message] = arrived(done.messageId);
      expect(message!.parsed.from?.value).toEqual([{ name: 'Contoso Support', address: shared }]);
      expect(message!.parsed.headers.get('sender')).toBeUndefined();
      expect(message!.envelope).toEqual({ from: agent.email, to: ['a@example.org'] });
      expect(message!.authUser).toBe(agent.email);
      // The Message-ID stays from the mailbox's domain; the original headers are untouched.
      expect(done.messageId).toMatch(/@contoso\.example>$/);
    } finally {
      sandbox.smtp.reset();
    }
  });

  it('554 5.2.252 SendAsDenied: fails at once with send_as_denied, the Add-RecipientPermission hint and the setup step', async () => {
    const agent = await mailbox();
    const shared = `shared-${serial}@contoso.example`;
    const id = await accepted({ mailboxId: agent.id, from: { address: shared }, to: ['a@example.org'], subject: 'denied', text: 'x' });
    const done = await final(id);
    expect(done).toMatchObject({ status: 'failed', attempts: 1, smtpResponse: null, error: { code: 'send_as_denied' } });
    expect(done.error!.detail).toContain('5.2.252');
    expect(done.error!.hint).toContain(`Add-RecipientPermission -Identity ${shared} -Trustee ${agent.email} -AccessRights SendAs`);
    expect(arrived(done.messageId)).toHaveLength(0);
    const announced = await event('message.failed', id);
    expect((announced.body as { data: unknown }).data).toEqual({ sendId: id, mailboxId: agent.id, error: done.error });
  });

  it('refuses a display name that carries an address or could end the phrase, naming /body/from/name', async () => {
    const agent = await mailbox();
    for (const name of ['ceo@contoso.example', 'Sales <ceo@contoso.example>', 'a\r\nBcc: x@y.org', 'x"y']) {
      const res = await send({ mailboxId: agent.id, from: { name, address: 'sales@contoso.example' }, to: ['a@example.org'], text: 'x' });
      expect(res.statusCode, res.body).toBe(400);
      expect(JSON.stringify(res.json())).toContain('/body/from/name');
    }
    const bad = await send({ mailboxId: agent.id, from: { address: 'Sales <s@contoso.example>' }, to: ['a@example.org'], text: 'x' });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(JSON.stringify(bad.json())).toContain('/body/from/address');
  });
});

describe('432 4.3.2 (the connection cap)', () => {
  it('is retried as throttling, not failed: sent once the server takes the connection', async () => {
    const agent = await mailbox();
    sandbox.smtp.setBehaviour({ maxConnectionsPerMailbox: 0 });
    try {
      const id = await accepted({ mailboxId: agent.id, to: ['a@example.org'], subject: 'capped', text: 'x' });
      const waiting = await waitUntil('the retry wait', async () => {
        const v = await view(id);
        return v.error ? v : undefined;
      });
      expect(waiting).toMatchObject({ status: 'queued', error: { code: 'smtp_throttled' } });
      expect(waiting.error!.detail).toContain('432 4.3.2');
      sandbox.smtp.setBehaviour({ maxConnectionsPerMailbox: 3 });
      const done = await final(id);
      expect(done).toMatchObject({ status: 'sent', error: null });
      expect(arrived(done.messageId)).toHaveLength(1);
    } finally {
      sandbox.smtp.reset();
    }
  });
});
