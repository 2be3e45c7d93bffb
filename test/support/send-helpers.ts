/**
 * What the sending tests repeat: an app-only connection's mailbox on the sandbox, and a message
 * sent through POST /v1/send, waited for and found as the sandbox SMTP server got it.
 */
import { expect } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, type Sandbox } from '../../sandbox/index.js';
import type { RecordedMessage } from '../../sandbox/smtp.js';
import type { TestApp } from './app.js';
import { waitUntil } from './mail.js';

/** A new app-only connection's mailbox for `email`, polled daily unless `payload` says otherwise. */
export async function appOnlyMailbox(t: TestApp, sandbox: Sandbox, email: string, payload: Record<string, unknown> = {}): Promise<string> {
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  const mailbox = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId: connection.json().id, email, pollIntervalSeconds: 86_400, ...sandbox.mailServers(), ...payload },
  });
  expect(mailbox.statusCode, mailbox.body).toBe(201);
  return mailbox.json().id as string;
}

/** The view of a message once it is sent or failed. */
export function finishedSend(t: TestApp, id: string, timeoutMs = 15_000): Promise<{ status: string; messageId: string; error: unknown; contentReleasedAt: string | null }> {
  return waitUntil(`send ${id}`, async () => {
    const v = (await t.app.inject({ method: 'GET', url: `/v1/send/${id}`, headers: t.auth })).json();
    return v.status === 'sent' || v.status === 'failed' ? v : undefined;
  }, timeoutMs);
}

/** POST /v1/send, then the message sent: its view and what the SMTP server got. */
export async function sendAndWait(t: TestApp, sandbox: Sandbox, payload: Record<string, unknown>): Promise<{ id: string; view: { messageId: string; status: string }; message: RecordedMessage }> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().id as string;
  const view = await finishedSend(t, id);
  expect(view.status, JSON.stringify(view.error)).toBe('sent');
  return { id, view, message: sandbox.smtp.messages.find((m) => m.parsed.messageId === view.messageId)! };
}
