/**
 * Replies and forwards end to end (issue 17): an original delivered to the
 * mailbox on the sandbox Dovecot, answered through POST /v1/send { reply } and
 * forwarded through { forward }; the messages as the sandbox SMTP server got
 * them carry the threading headers, subject and recipients a mail client
 * would write (reply all without the mailbox's own address), the forward the
 * original whole; once sent, the original has \Answered and $Forwarded on the
 * server. An original that is gone is a 400 pointing at it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';
import { appOnlyMailbox, sendAndWait } from '../support/send-helpers.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false' }), () => sandbox.redis);
const email = 'desk@contoso.example';
let mailboxId: string;

const ORIGINAL = [
  'From: Customer <customer@example.org>',
  `To: Desk <${email}>, other@example.org`,
  'Cc: third@example.org, DESK@contoso.example',
  'Subject: Order 4711',
  'Message-ID: <orig-1@example.org>',
  'References: <root@example.org>',
  'Date: Sun, 06 Dec 2026 09:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Where is my order?',
  '',
].join('\r\n');

beforeAll(async () => {
  await t.deps.jobs.startAll();
  mailboxId = await appOnlyMailbox(t, sandbox, email);
  await sandbox.dovecot.deliver(email, ORIGINAL);
});

const sent = async (payload: Record<string, unknown>) => (await sendAndWait(t, sandbox, { mailboxId, ...payload })).message;

const flagsOfOriginal = async (): Promise<string[]> =>
  (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${mailboxId}/messages/1?folder=INBOX`, headers: t.auth })).json().flags;

describe('replies and forwards', () => {
  it('replies to all in the thread, without the mailbox itself, and marks the original \\Answered', async () => {
    const message = await sent({ reply: { uid: 1, folder: 'INBOX', all: true }, text: 'It ships today.' });
    expect(message.parsed.subject).toBe('Re: Order 4711');
    expect(message.parsed.inReplyTo).toBe('<orig-1@example.org>');
    expect(message.parsed.references).toEqual(['<root@example.org>', '<orig-1@example.org>']);
    expect(message.envelope.to.sort()).toEqual(['customer@example.org', 'other@example.org', 'third@example.org']);
    expect(message.parsed.headers.get('cc')).toMatchObject({ value: [{ address: 'other@example.org' }, { address: 'third@example.org' }] });
    await waitUntil('the original answered', async () => ((await flagsOfOriginal()).includes('\\Answered') ? true : undefined));
  });

  it('forwards the original whole and marks it $Forwarded', async () => {
    const message = await sent({ forward: { uid: 1, folder: 'INBOX' }, to: ['boss@example.org'], text: 'FYI' });
    expect(message.parsed.subject).toBe('Fwd: Order 4711');
    expect(message.envelope.to).toEqual(['boss@example.org']);
    // The original as a message/rfc822 part, not re-encoded (RFC 2046 allows 7bit, 8bit or binary there).
    const raw = message.raw.toString('utf8');
    expect(raw).toMatch(/Content-Type: message\/rfc822; name="Order 4711\.eml"\r\nContent-Transfer-Encoding: (7bit|8bit)\r\n/);
    const part = raw.slice(raw.indexOf('Content-Type: message/rfc822'));
    expect(part).toContain('Message-ID: <orig-1@example.org>');
    expect(part).toContain('Where is my order?');
    await waitUntil('the original forwarded', async () => ((await flagsOfOriginal()).includes('$Forwarded') ? true : undefined));
  });

  it('refuses a reply to a message that is not there, and reply with raw or forward', async () => {
    const gone = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId, reply: { uid: 99, folder: 'INBOX' }, text: 'x' } });
    expect(gone.statusCode, gone.body).toBe(400);
    expect(gone.json().errors).toEqual([expect.objectContaining({ field: '/body/reply/uid' })]);
    const both = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId, reply: { uid: 1, folder: 'INBOX' }, forward: { uid: 1, folder: 'INBOX' }, to: ['a@example.org'] } });
    expect(both.statusCode).toBe(400);
    expect(both.json().errors).toEqual([expect.objectContaining({ field: '/body/forward' })]);
  });
});
