/**
 * Bounces end to end (issue 17): a message sent through the sandbox SMTP
 * server, then a delivery status notification about it delivered to the
 * sending mailbox's INBOX on the sandbox Dovecot (as Exchange files its NDRs)
 * is announced as new mail and as `message.bounced`, and listed in the send's
 * `bounces`, once, however often the mailbox is polled. A report quoting
 * another mailbox's send, or a Message-ID that is not the send's, and a
 * report about mail mailsync did not send, are new mail only.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50' }), () => sandbox.redis);

let connectionId: string;
beforeAll(async () => {
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received', 'message.bounced'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'bounces', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().id;
});

async function mailbox(email: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds: 1, ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json().id as string;
  await waitUntil(`the baseline of ${email}`, async () => ((await t.deps.services.mailboxes.get(id)).lastPollAt ? true : undefined));
  return id;
}

async function sent(mailboxId: string, to: string[]): Promise<{ id: string; messageId: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/send', headers: t.auth, payload: { mailboxId, to, subject: 'Your ticket', text: 'Hello.' } });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().id as string;
  return waitUntil('the message sent', async () => {
    const v = (await t.app.inject({ method: 'GET', url: `/v1/send/${id}`, headers: t.auth })).json();
    return v.status === 'sent' ? { id, messageId: v.messageId as string } : undefined;
  });
}

/** An NDR as Exchange files it in the sender's INBOX, about `messageId`, for these recipients. */
function ndr(to: string, subject: string, messageId: string, recipients: [string, string, string][]): string {
  const boundary = `_000_${Math.random().toString(36).slice(2)}_`;
  return [
    'From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>',
    `To: <${to}>`,
    `Subject: ${subject}`,
    `Message-ID: <ndr-${Math.random().toString(36).slice(2)}@contoso.example>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type="delivery-status"; boundary="${boundary}"`,
    '',
    `--${boundary}`, 'Content-Type: text/plain; charset="us-ascii"', '', "Your message couldn't be delivered.", '',
    `--${boundary}`, 'Content-Type: message/delivery-status', '',
    'Reporting-MTA: dns;DM6PR11MB4691.namprd11.prod.outlook.com', '',
    ...recipients.flatMap(([recipient, status, diagnostic]) => [
      `Final-Recipient: rfc822;${recipient}`, 'Action: failed', `Status: ${status}`, `Diagnostic-Code: smtp;${diagnostic}`, '',
    ]),
    `--${boundary}`, 'Content-Type: text/rfc822-headers', '',
    `From: <${to}>`, `Message-ID: ${messageId}`, 'Subject: Your ticket', '',
    `--${boundary}--`, '',
  ].join('\r\n');
}

type Bounced = { sendId: string; mailboxId: string; messageId: string; recipient: string; action: string; status: string | null; diagnosticCode: string | null };

const received = (mailboxId: string, subject: string) => sandbox.receiver.received
  .filter((d) => d.type === 'message.received' && (d.body as { data: { mailboxId: string; subject: string } }).data.mailboxId === mailboxId
    && (d.body as { data: { subject: string } }).data.subject === subject);
const bounced = (sendId: string) => sandbox.receiver.received
  .filter((d) => d.type === 'message.bounced' && (d.body as { data: Bounced }).data.sendId === sendId)
  .map((d) => ({ id: d.id, verified: d.verified, data: (d.body as { data: Bounced }).data }));

describe('bounces', () => {
  it('announces a report about a sent message as message.bounced, once per recipient, and lists it on the send', async () => {
    const email = 'bounce-sender@contoso.example';
    const id = await mailbox(email);
    const message = await sent(id, ['ghost@fabrikam.example', 'gone@fabrikam.example', 'fine@fabrikam.example']);
    expect(message.messageId).toMatch(new RegExp(`^<${message.id}\\.`));
    const smtp = sandbox.smtp.messages.find((m) => m.parsed.messageId === message.messageId);
    expect(smtp?.parsed.headers.get('x-mailsync-send-id')).toBe(message.id);

    await sandbox.dovecot.deliver(email, ndr(email, 'Undeliverable: Your ticket', message.messageId, [
      ['ghost@fabrikam.example', '5.1.10', '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ghost@fabrikam.example not found by SMTP address lookup'],
      ['gone@fabrikam.example', '5.1.1', '550 5.1.1 User unknown'],
    ]));
    await waitUntil('both bounces', () => (bounced(message.id).length >= 2 ? true : undefined));
    const events = bounced(message.id);
    expect(events.every((e) => e.verified)).toBe(true);
    expect(events.map((e) => e.data).sort((a, b) => a.recipient.localeCompare(b.recipient))).toEqual([
      { sendId: message.id, mailboxId: id, messageId: message.messageId, recipient: 'ghost@fabrikam.example', action: 'failed', status: '5.1.10', diagnosticCode: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ghost@fabrikam.example not found by SMTP address lookup' },
      { sendId: message.id, mailboxId: id, messageId: message.messageId, recipient: 'gone@fabrikam.example', action: 'failed', status: '5.1.1', diagnosticCode: '550 5.1.1 User unknown' },
    ]);
    // The report is new mail too.
    expect(received(id, 'Undeliverable: Your ticket')).toHaveLength(1);
    const view = (await t.app.inject({ method: 'GET', url: `/v1/send/${message.id}`, headers: t.auth })).json();
    expect(view.status).toBe('sent');
    expect(view.bounces.map((b: { recipient: string; status: string }) => [b.recipient, b.status]).sort()).toEqual([
      ['ghost@fabrikam.example', '5.1.10'], ['gone@fabrikam.example', '5.1.1'],
    ]);

    // The same report again (Exchange retrying, a second copy): the same events, deduplicated; the list unchanged.
    await sandbox.dovecot.deliver(email, ndr(email, 'Undeliverable again', message.messageId, [['ghost@fabrikam.example', '5.1.10', 'again']]));
    await waitUntil('the second report received', () => received(id, 'Undeliverable again')[0]);
    expect(new Set(bounced(message.id).map((e) => e.id)).size).toBe(2);
    expect((await t.app.inject({ method: 'GET', url: `/v1/send/${message.id}`, headers: t.auth })).json().bounces).toHaveLength(2);
  });

  it('does not take a report quoting another mailbox\'s send, another Message-ID or foreign mail for a bounce', async () => {
    const victim = await mailbox('bounce-victim@contoso.example');
    const victimSend = await sent(victim, ['someone@fabrikam.example']);
    const email = 'bounce-forger@contoso.example';
    const id = await mailbox(email);
    const own = await sent(id, ['other@fabrikam.example']);

    // Another mailbox's send, named by its real Message-ID; this mailbox's send id with a Message-ID that is not its own;
    // and a report about mail mailsync never sent.
    await sandbox.dovecot.deliver(email, ndr(email, 'Forged: other mailbox', victimSend.messageId, [['someone@fabrikam.example', '5.1.1', 'x']]));
    await sandbox.dovecot.deliver(email, ndr(email, 'Forged: other id', `<${own.id}.00000000-0000-0000-0000-000000000000@contoso.example>`, [['other@fabrikam.example', '5.1.1', 'x']]));
    await sandbox.dovecot.deliver(email, ndr(email, 'Foreign report', '<1234@elsewhere.example>', [['nobody@fabrikam.example', '5.1.1', 'x']]));
    for (const subject of ['Forged: other mailbox', 'Forged: other id', 'Foreign report']) await waitUntil(subject, () => received(id, subject)[0]);
    // Polls announce in UID order: with the last report announced, the first two were looked at.
    expect(bounced(victimSend.id)).toEqual([]);
    expect(bounced(own.id)).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: `/v1/send/${victimSend.id}`, headers: t.auth })).json().bounces).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: `/v1/send/${own.id}`, headers: t.auth })).json().bounces).toEqual([]);
  });
});
