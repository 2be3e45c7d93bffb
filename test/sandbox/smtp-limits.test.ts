/**
 * The sandbox SMTP server's Send As check on the From header and its per-mailbox cap on
 * concurrent connections, driven by the real nodemailer, as Exchange Online answers them
 * (microsoft-facts.md: 554 5.2.252 SendAsDenied, 432 4.3.2).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport, type Transporter } from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { startSmtp, type SandboxSmtp } from '../../sandbox/smtp.js';
import { mintAppToken } from '../../sandbox/tokens.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const MAILBOX = 'agent@contoso.test';
const SHARED = 'support@contoso.test';

let pki: SandboxPki;
let smtp: SandboxSmtp;

beforeAll(async () => {
  pki = await loadOrCreatePki(await mkdtemp(join(tmpdir(), 'mailsync-pki-')));
  smtp = await startSmtp({ pki });
});

afterAll(async () => {
  await smtp?.stop();
  if (pki) await rm(pki.dir, { recursive: true, force: true });
});

beforeEach(() => smtp.reset());

const token = (): Promise<string> => mintAppToken(pki.signingKey, { tenantId: TENANT, clientId: CLIENT, roles: ['SMTP.SendAsApp'] });

function transport(accessToken: string, pool = false, user = MAILBOX): Transporter {
  return createTransport({
    host: smtp.host, port: smtp.port, secure: false, requireTLS: true, tls: { ca: [pki.caCertPem] },
    auth: { type: 'OAuth2', user, accessToken },
    ...(pool ? { pool: true, maxConnections: 1 } : {}),
  });
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; responseCode?: number; response?: string; command?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('succeeded, expected a failure');
}

describe('sandbox SMTP: Send As on the From header', () => {
  it('refuses a From the mailbox may not send as with 554 5.2.252 at the end of DATA, and takes it once granted', async () => {
    const t = transport(await token());
    try {
      // The envelope stays the mailbox (MAIL FROM passes); only the header names the shared address.
      const mail = { from: { name: 'Support', address: SHARED }, envelope: { from: MAILBOX, to: ['customer@example.test'] }, to: 'customer@example.test', subject: 'Hi', text: 'x' };
      const err = await failure(t.sendMail(mail));
      expect(err).toMatchObject({ code: 'EMESSAGE', responseCode: 554, command: 'DATA' });
      expect(err.response).toBe(
        `554 5.2.252 SendAsDenied; ${MAILBOX} not allowed to send as ${SHARED}; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied`,
      );
      expect(smtp.messages).toHaveLength(0);

      smtp.setBehaviour({ sendAsGrants: { [MAILBOX.toUpperCase()]: [SHARED] } });
      await t.sendMail(mail);
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]!.parsed.from?.value[0]).toMatchObject({ name: 'Support', address: SHARED });
      expect(smtp.messages[0]!.envelope.from).toBe(MAILBOX);
      expect(smtp.messages[0]!.authUser).toBe(MAILBOX);
    } finally {
      t.close();
    }
  });

  it('a grant to another mailbox does not count', async () => {
    smtp.setBehaviour({ sendAsGrants: { 'someone-else@contoso.test': [SHARED] } });
    const t = transport(await token());
    try {
      const err = await failure(t.sendMail({ from: SHARED, envelope: { from: MAILBOX, to: ['c@example.test'] }, to: 'c@example.test', text: 'x' }));
      expect(err.responseCode).toBe(554);
    } finally {
      t.close();
    }
  });
});

describe('sandbox SMTP: 3 concurrent connections per mailbox', () => {
  it('answers a fourth authenticated connection with 432 4.3.2 to AUTH, records the peak, and takes it once one closes', async () => {
    const accessToken = await token();
    // Three pools of one connection each, kept open between messages.
    const held = [transport(accessToken, true), transport(accessToken, true), transport(accessToken, true)];
    const fourth = transport(accessToken);
    try {
      for (const t of held) await t.sendMail({ from: MAILBOX, to: 'c@example.test', text: 'held' });
      expect(smtp.openConnections.get(MAILBOX)).toBe(3);

      const err = await failure(fourth.sendMail({ from: MAILBOX, to: 'c@example.test', text: 'fourth' }));
      expect(err).toMatchObject({ code: 'EAUTH', responseCode: 432 });
      expect(err.response).toBe('432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.');
      expect(smtp.peakConnections.get(MAILBOX)).toBe(3);
      expect(smtp.messages).toHaveLength(3);

      // One pool closes: the server sees the session end, and a new connection is taken.
      const closed = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (smtp.openConnections.get(MAILBOX) === 2) { clearInterval(check); resolve(); }
        }, 5);
      });
      held.pop()!.close();
      await closed;
      await fourth.sendMail({ from: MAILBOX, to: 'c@example.test', text: 'fourth again' });
      expect(smtp.messages).toHaveLength(4);
      expect(smtp.peakConnections.get(MAILBOX)).toBe(3);
    } finally {
      for (const t of held) t.close();
      fourth.close();
    }
  });

  it('the cap is settable and per mailbox', async () => {
    // Another mailbox than the test above, whose connections may still be closing.
    const desk = 'desk@contoso.test';
    smtp.setBehaviour({ maxConnectionsPerMailbox: 1 });
    const accessToken = await token();
    const first = transport(accessToken, true, desk);
    const second = transport(accessToken, false, desk);
    try {
      await first.sendMail({ from: desk, to: 'c@example.test', text: 'one' });
      expect((await failure(second.sendMail({ from: desk, to: 'c@example.test', text: 'two' }))).responseCode).toBe(432);
      expect(smtp.peakConnections.get(desk)).toBe(1);
      expect(smtp.peakConnections.get('other@contoso.test')).toBeUndefined();
    } finally {
      first.close();
      second.close();
    }
  });
});
