import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type SandboxDovecot } from '../../sandbox/dovecot.js';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { processTree, stillRunning } from '../../sandbox/procfs.js';
import { EXCHANGE_AUDIENCE, mintAppToken, mintUserToken, v1Issuer } from '../../sandbox/tokens.js';

const TENANT = '7f3c2a10-0000-4000-8000-000000000001';
const CLIENT = '0b1c2d3e-0000-4000-8000-000000000002';
const ALICE = 'alice@contoso.test';
const BOB = 'bob@contoso.test';

let pki: SandboxPki;
let dovecot: SandboxDovecot;
const clients: ImapFlow[] = [];

function client(user: string, accessToken: string): ImapFlow {
  const imap = new ImapFlow({
    host: '127.0.0.1',
    port: dovecot.port,
    secure: true,
    auth: { user, accessToken },
    tls: { ca: [pki.caCertPem] },
    logger: false,
  });
  imap.on('error', () => undefined); // socket errors after a failed login
  clients.push(imap);
  return imap;
}

const appToken = (): Promise<string> =>
  mintAppToken(pki.signingKey, { tenantId: TENANT, clientId: CLIENT, roles: ['IMAP.AccessAsApp'] });

const userToken = (upn: string): Promise<string> =>
  mintUserToken(pki.signingKey, {
    tenantId: TENANT,
    clientId: CLIENT,
    scopes: ['https://outlook.office.com/IMAP.AccessAsUser.All'],
    upn,
    oid: randomUUID(),
  });

/** An app token with chosen claims, signing key or kid (for the refusals). */
async function customToken(
  overrides: JWTPayload,
  key: { kid: string; privateKeyPem: string } = pki.signingKey,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    aud: EXCHANGE_AUDIENCE,
    iss: v1Issuer(TENANT),
    appid: CLIENT,
    idtyp: 'app',
    roles: ['IMAP.AccessAsApp'],
    sub: randomUUID(),
    tid: TENANT,
    iat: now,
    nbf: now - 5,
    exp: now + 600,
    ...overrides,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .sign(createPrivateKey(key.privateKeyPem));
}

function message(subject: string, to = ALICE): string {
  return [
    'From: Sender <sender@fabrikam.test>',
    `To: ${to}`,
    `Subject: ${subject}`,
    `Message-ID: <${randomUUID()}@fabrikam.test>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of ${subject}`,
    '',
  ].join('\r\n');
}

async function expectRefused(user: string, accessToken: string): Promise<void> {
  const imap = client(user, accessToken);
  const err = (await imap.connect().then(
    () => undefined,
    (e: unknown) => e,
  )) as { authenticationFailed?: boolean; serverResponseCode?: string } | undefined;
  expect(err).toBeDefined();
  expect(err?.authenticationFailed).toBe(true);
  expect(err?.serverResponseCode).toBe('AUTHENTICATIONFAILED');
}

async function logLines(pattern: RegExp): Promise<string[]> {
  return (await readFile(dovecot.logFile, 'utf8')).split('\n').filter((line) => pattern.test(line));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

describe('sandbox Dovecot', () => {
  let pkiDir: string;

  beforeAll(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), 'mailsync-pki-'));
    pki = await loadOrCreatePki(pkiDir);
    const t0 = performance.now();
    dovecot = await startDovecot({ pki });
    console.log(`startDovecot: ${Math.round(performance.now() - t0)} ms`);
  });

  afterAll(async () => {
    for (const imap of clients) imap.close();
    await dovecot?.stop();
    await rm(pkiDir, { recursive: true, force: true });
  });

  it('greets with XOAUTH2 and PLAIN but no OAUTHBEARER, and has IDLE, CONDSTORE, SPECIAL-USE', async () => {
    const greeting = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: dovecot.plainPort });
      socket.once('data', (chunk) => {
        socket.end('a LOGOUT\r\n');
        resolve(chunk.toString());
      });
      socket.once('error', reject);
    });
    expect(greeting).toMatch(/AUTH=XOAUTH2/);
    expect(greeting).toMatch(/AUTH=PLAIN/);
    expect(greeting).not.toMatch(/OAUTHBEARER/);

    const imap = client(ALICE, await appToken());
    await imap.connect();
    for (const cap of ['IDLE', 'CONDSTORE', 'QRESYNC', 'SPECIAL-USE']) expect(imap.capabilities.has(cap)).toBe(true);
    await imap.logout();
  });

  it('lets an app-only token open any mailbox, over XOAUTH2', async () => {
    const token = await appToken();
    for (const user of [ALICE, BOB, 'carol@other-tenant.test']) {
      const imap = client(user, token);
      await imap.connect();
      expect(await imap.status('INBOX', { messages: true })).toMatchObject({ messages: 0 });
      await imap.logout();
    }
    const logins = await logLines(/imap-login: Info: Login: user=<carol@other-tenant\.test>/);
    expect(logins[0]).toMatch(/method=XOAUTH2/);
  });

  it('lets a user token open its own mailbox only (upn compared case-insensitively)', async () => {
    const token = await userToken('Alice@Contoso.test');
    const own = client(ALICE, token);
    await own.connect();
    expect(own.authenticated).toBeTruthy();
    await own.logout();
    await expectRefused(BOB, token);
  });

  it('refuses expired tokens, foreign signatures, unknown kids and other audiences', async () => {
    const now = Math.floor(Date.now() / 1000);
    // 2.3.19 would hold every refusal for 500 ms without the "nodelay" passdb (dovecot-config.ts)
    const t0 = performance.now();
    await expectRefused(BOB, await userToken(ALICE));
    const refusalMs = performance.now() - t0;
    console.log(`refused login: ${refusalMs.toFixed(1)} ms`);
    expect(refusalMs).toBeLessThan(250);
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const strangerPem = stranger.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expectRefused(ALICE, await customToken({ iat: now - 3600, nbf: now - 3600, exp: now - 60 }));
    // same kid, other key: the signature check fails
    await expectRefused(ALICE, await customToken({}, { kid: pki.signingKey.kid, privateKeyPem: strangerPem }));
    // a kid Dovecot has no key for
    await expectRefused(ALICE, await customToken({}, { kid: 'unknown-kid', privateKeyPem: strangerPem }));
    await expectRefused(ALICE, await customToken({ aud: 'https://graph.microsoft.com' }));
    await expectRefused(ALICE, await userToken('mallory@contoso.test'));
    // the control: the same helper with nothing overridden logs in
    const ok = client(ALICE, await customToken({}));
    await ok.connect();
    await ok.logout();

    const reasons = (await logLines(/oauth2 failed/)).join('\n');
    expect(reasons).toMatch(/Token has expired/);
    expect(reasons).toMatch(/Bad signature|signature/i);
    expect(reasons).toMatch(/key 'unknown-kid' not found/);
    expect(reasons).toMatch(/client_id not found in aud field/);
  });

  it('delivers mail that IMAP then sees (STATUS, envelope)', async () => {
    await dovecot.deliver(ALICE, message('first'));
    await dovecot.deliver(ALICE, message('second'));
    expect(await dovecot.status(ALICE, 'INBOX')).toMatchObject({ messages: 2, uidNext: 3 });

    const imap = client(ALICE, await appToken());
    await imap.connect();
    const status = await imap.status('INBOX', { messages: true, uidNext: true });
    expect(status).toMatchObject({ messages: 2, uidNext: 3 });
    const lock = await imap.getMailboxLock('INBOX');
    try {
      const subjects: string[] = [];
      for await (const msg of imap.fetch('1:*', { envelope: true, uid: true })) subjects.push(msg.envelope?.subject ?? '');
      expect(subjects).toEqual(['first', 'second']);
    } finally {
      lock.release();
    }
    await imap.logout();
  });

  it('creates folders on delivery, and special-use folders that LIST flags', async () => {
    await dovecot.deliver(BOB, message('filed', BOB), 'Projects/Alpha');
    expect(await dovecot.status(BOB, 'Projects/Alpha')).toMatchObject({ messages: 1 });
    await dovecot.createFolder(BOB, 'Outbound Copies', '\\Sent');

    const imap = client(BOB, await appToken());
    await imap.connect();
    const list = await imap.list();
    const byPath = new Map(list.map((box) => [box.path, box]));
    expect(byPath.get('Projects/Alpha')?.delimiter).toBe('/');
    // The server's flags (imapflow's own specialUse names one folder per use, and guesses from names).
    const flags = (path: string): string[] => [...(byPath.get(path)?.flags ?? [])];
    expect(flags('Outbound Copies')).toContain('\\Sent');
    // Exchange Online's well-known folders, by their English names.
    expect(flags('Sent Items')).toContain('\\Sent');
    expect(flags('Junk Email')).toContain('\\Junk');
    expect(flags('Drafts')).toContain('\\Drafts');
    expect(flags('Deleted Items')).toContain('\\Trash');
    expect(flags('Archive')).toContain('\\Archive');
    expect(flags('Projects/Alpha').filter((f) => /Sent|Junk|Drafts|Trash|Archive/.test(f))).toEqual([]);
    await imap.logout();
  });

  it('resetUidValidity gives the folder a new UIDVALIDITY, renumbers its messages from 1, and disconnects sessions', async () => {
    const user = 'reset@contoso.test';
    for (const subject of ['a', 'b', 'c']) await dovecot.deliver(user, message(subject, user));
    const imap = client(user, await appToken());
    await imap.connect();
    let lock = await imap.getMailboxLock('INBOX');
    await imap.messageDelete('1'); // uidNext stays 4 with 2 messages left
    await imap.messageFlagsAdd('1', ['\\Seen']); // 'b' is now seq 1
    lock.release();
    await imap.logout();
    const before = await dovecot.status(user, 'INBOX');
    expect(before).toMatchObject({ messages: 2, uidNext: 4 });

    const watcher = client(user, await appToken());
    await watcher.connect();
    await watcher.mailboxOpen('INBOX');
    const closed = new Promise<boolean>((resolve) => watcher.once('close', () => resolve(true)));
    await dovecot.resetUidValidity(user, 'INBOX');
    // open sessions are disconnected (they would keep a stale view)
    expect(await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 3_000))])).toBe(true);
    const after = await dovecot.status(user, 'INBOX');
    expect(after.uidValidity).not.toBe(before.uidValidity);
    expect(after).toMatchObject({ messages: 2, uidNext: 3 });

    const again = client(user, await appToken());
    await again.connect();
    const status = await again.status('INBOX', { uidValidity: true, uidNext: true });
    expect(status).toMatchObject({ uidValidity: BigInt(after.uidValidity), uidNext: 3 });
    lock = await again.getMailboxLock('INBOX');
    const seen: string[] = [];
    for await (const msg of again.fetch('1:*', { uid: true, envelope: true, flags: true })) {
      seen.push(`${msg.uid}:${msg.envelope?.subject}:${msg.flags?.has('\\Seen') ? 'seen' : 'unseen'}`);
    }
    lock.release();
    expect(seen).toEqual(['1:b:seen', '2:c:unseen']);
    await again.logout();

    // also for another folder; the parking folder is gone afterwards
    await dovecot.deliver(user, message('x', user), 'Archive');
    const archiveBefore = await dovecot.status(user, 'Archive');
    await dovecot.resetUidValidity(user, 'Archive');
    expect((await dovecot.status(user, 'Archive')).uidValidity).not.toBe(archiveBefore.uidValidity);
    const check = client(user, await appToken());
    await check.connect();
    expect((await check.list()).map((box) => box.path).filter((p) => p.startsWith('mailsync-reset'))).toEqual([]);
    await check.logout();
  });

  it('reports a delivery to an IDLE session within a second', async () => {
    const user = 'idle@contoso.test';
    const imap = client(user, await appToken());
    await imap.connect();
    await imap.mailboxOpen('INBOX');
    // imapflow 2 enters IDLE by itself only after autoIdleDelay (15 s): start it now.
    const idling = imap.idle().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const exists = new Promise<number>((resolve) => {
      imap.on('exists', () => resolve(performance.now()));
    });
    const t0 = performance.now();
    await dovecot.deliver(user, message('while idle', user));
    const latency = (await Promise.race([exists, new Promise<number>((r) => setTimeout(() => r(NaN), 5_000))])) - t0;
    // ~0.5 s: Dovecot batches inotify events for NOTIFY_DELAY_MSECS = 500 (mailbox-watch.c, not configurable)
    console.log(`IDLE 'exists' after deliver(): ${Math.round(latency)} ms (deliver() itself included)`);
    expect(latency).toBeLessThan(1_000);
    await imap.logout();
    await idling;
  });

  it('answers login + STATUS + logout quickly', async () => {
    const token = await appToken();
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const imap = client(ALICE, token);
      await imap.connect();
      await imap.status('INBOX', { messages: true, uidNext: true });
      await imap.logout();
      times.push(performance.now() - t0);
    }
    console.log(`login + STATUS + logout over TLS: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
    expect(median(times)).toBeLessThan(500);
  });

  it('accepts the fixed PLAIN account', async () => {
    const imap = new ImapFlow({
      host: '127.0.0.1',
      port: dovecot.port,
      secure: true,
      auth: { user: dovecot.plainLogin.user, pass: dovecot.plainLogin.password },
      tls: { ca: [pki.caCertPem] },
      logger: false,
    });
    await imap.connect();
    await imap.logout();
  });

  it('stop() leaves no Dovecot process behind', async () => {
    const tree = processTree(dovecot.pid);
    expect(tree.length).toBeGreaterThan(3); // master, log, config, auth, imap-login, …
    const t0 = performance.now();
    await dovecot.stop();
    console.log(`dovecot stop: ${Math.round(performance.now() - t0)} ms`);
    expect(stillRunning(tree)).toEqual([]);
  });
});

describe('sandbox Dovecot with an issuer list', () => {
  let pkiDir: string;
  let strict: SandboxDovecot;

  beforeAll(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), 'mailsync-pki-'));
    pki = await loadOrCreatePki(pkiDir);
    strict = await startDovecot({ pki, issuers: [v1Issuer(TENANT)] });
  });

  afterAll(async () => {
    await strict?.stop();
    await rm(pkiDir, { recursive: true, force: true });
  });

  it('accepts tokens of the listed tenants only', async () => {
    const connectWith = async (tenantId: string): Promise<unknown> => {
      const token = await mintAppToken(pki.signingKey, { tenantId, clientId: CLIENT, roles: ['IMAP.AccessAsApp'] });
      const imap = new ImapFlow({
        host: '127.0.0.1',
        port: strict.port,
        secure: true,
        auth: { user: ALICE, accessToken: token },
        tls: { ca: [pki.caCertPem] },
        logger: false,
      });
      imap.on('error', () => undefined);
      return imap.connect().then(
        () => imap.logout().then(() => 'ok'),
        (err: { authenticationFailed?: boolean }) => (err.authenticationFailed ? 'refused' : err),
      );
    };
    expect(await connectWith(TENANT)).toBe('ok');
    expect(await connectWith('00000000-0000-4000-8000-0000000000ff')).toBe('refused');
  });
});
