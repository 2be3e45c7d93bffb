/**
 * The sandbox Dovecot sized for thousands of kept sessions (bench/poll,
 * `maxConnections`) gives its auth service room for every process that talks
 * to it (issue 19). Each imap process serving more than one session holds a
 * connection to auth, beside the login processes: with `client_limit = 2000`
 * fixed, two workers keeping 1,000 sessions each filled it, and when one was
 * killed its sessions' imap processes kept their auth connections for about a
 * minute (idle_kill), the login process could not reconnect to auth ("client_limit
 * (2000) reached", "Auth process not responding, delayed sending initial
 * response"), and every new login hung for 60–90 s: the survivor's takeover
 * lag. Dovecot computes what it needs at start and warns when auth has less;
 * this starts the real Dovecot at the bench's sizes and reads its log.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authClientLimit } from '../../sandbox/dovecot-config.js';
import { startDovecot } from '../../sandbox/dovecot.js';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { mintAppToken } from '../../sandbox/tokens.js';

const TENANT = '7f3c2a10-0000-4000-8000-000000000001';
const CLIENT = '0b1c2d3e-0000-4000-8000-000000000002';

let pki: SandboxPki;
let pkiDir: string;

beforeAll(async () => {
  pkiDir = await mkdtemp(join(tmpdir(), 'mailsync-pki-'));
  pki = await loadOrCreatePki(pkiDir);
});
afterAll(async () => {
  await rm(pkiDir, { recursive: true, force: true });
});

describe('sandbox Dovecot limits', () => {
  it('gives auth at least the imap, imap-login and imap-urlauth-login process limits', () => {
    expect(authClientLimit()).toBe(2000);
    expect(authClientLimit(2200)).toBeGreaterThanOrEqual(2200 + 100 + 100);
    expect(authClientLimit(20_200)).toBeGreaterThanOrEqual(20_200 + 100 + 100);
  });

  for (const maxConnections of [undefined, 2200, 5200]) {
    it(`starts with ${maxConnections ?? 'the default'} connections without Dovecot's auth client_limit warning, and logs in`, async () => {
      const dovecot = await startDovecot({ pki, ...(maxConnections ? { maxConnections } : {}) });
      try {
        const imap = new ImapFlow({
          host: '127.0.0.1', port: dovecot.port, secure: true, logger: false, tls: { ca: [pki.caCertPem] },
          auth: { user: 'limits@contoso.test', accessToken: await mintAppToken(pki.signingKey, { tenantId: TENANT, clientId: CLIENT, roles: ['IMAP.AccessAsApp'] }) },
        });
        imap.on('error', () => undefined);
        await imap.connect();
        await imap.logout();
        // Written at start, before the first greeting: "service auth { client_limit=2000 } is lower than required under max. load (2400)".
        const warnings = (await readFile(dovecot.logFile, 'utf8')).split('\n').filter((l) => /client_limit.*lower than required|client_limit \(\d+\) reached/.test(l));
        expect(warnings).toEqual([]);
      } finally {
        await dovecot.stop();
      }
    }, 60_000);
  }
});
