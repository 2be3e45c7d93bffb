/**
 * The sandbox's cutting SMTP proxy, driven by nodemailer as the service uses
 * it: messages pass through STARTTLS unchanged, and a cut in the middle of
 * DATA fails the send without the server recording anything.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { startSmtp, type SandboxSmtp } from '../../sandbox/smtp.js';
import { startSmtpProxy, type SmtpProxy } from '../../sandbox/smtp-proxy.js';
import { mintAppToken } from '../../sandbox/tokens.js';

const MAILBOX = 'support@contoso.test';

let pki: SandboxPki;
let smtp: SandboxSmtp;
let proxy: SmtpProxy;

beforeAll(async () => {
  pki = await loadOrCreatePki(await mkdtemp(join(tmpdir(), 'mailsync-pki-')));
  smtp = await startSmtp({ pki });
  proxy = await startSmtpProxy({ pki, target: { host: smtp.host, port: smtp.port } });
});

afterAll(async () => {
  await proxy?.stop();
  await smtp?.stop();
  if (pki) await rm(pki.dir, { recursive: true, force: true });
});

async function send(subject: string): Promise<void> {
  const accessToken = await mintAppToken(pki.signingKey, {
    tenantId: '11111111-2222-3333-4444-555555555555',
    clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    roles: ['SMTP.SendAsApp'],
  });
  const transport = createTransport({
    host: proxy.host,
    port: proxy.port,
    secure: false,
    requireTLS: true,
    tls: { ca: [pki.caCertPem] },
    auth: { type: 'OAuth2', user: MAILBOX, accessToken },
  });
  try {
    await transport.sendMail({ from: MAILBOX, to: 'customer@example.test', subject, text: 'x'.repeat(20_000) });
  } finally {
    transport.close();
  }
}

describe('SMTP proxy', () => {
  it('passes messages through STARTTLS unchanged', async () => {
    await send('through the proxy');
    expect(smtp.messages.filter((m) => m.parsed.subject === 'through the proxy')).toHaveLength(1);
    expect(proxy.dataCommands).toBe(1);
  });

  it('cuts a connection in the middle of DATA: the send fails and the server records nothing', async () => {
    proxy.setBehaviour({ cutInData: { times: 1 } });
    const err = await send('cut mid-data').then(() => undefined, (e: unknown) => e as { code?: string });
    expect(err, 'the send fails').toBeDefined();
    expect(proxy.cut).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.messages.filter((m) => m.parsed.subject === 'cut mid-data')).toHaveLength(0);
    // The cut was used up: the next message goes through.
    await send('after the cut');
    expect(smtp.messages.filter((m) => m.parsed.subject === 'after the cut')).toHaveLength(1);
  });
});
