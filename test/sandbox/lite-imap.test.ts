/**
 * The light IMAP imitation (sandbox/lite-imap/), which stands in for Exchange Online where Dovecot
 * cannot carry the load: real imapflow and mailsync's own poll session against it, and a mailbox
 * polled through the app with IDLE. Logins with the sandbox's tokens (and refusals as Exchange
 * words them), STATUS/SEARCH/FETCH of injected mail, IDLE's notice, the per-mailbox connection
 * limit, and hostile input answered with BAD while the server goes on serving.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startLiteImapControl } from '../../sandbox/lite-imap/control-http.js';
import { ImapLineTooLong, ImapSyntaxError, LineReader, parseCommand } from '../../sandbox/lite-imap/parser.js';
import { startLiteImap, type LiteImap } from '../../sandbox/lite-imap/server.js';
import { mintAppToken, mintUserToken } from '../../sandbox/tokens.js';
import { createPollSession } from '../../src/adapters/imap/poll-session.js';
import { createLogger } from '../../src/logging/logger.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { captureLogs } from '../support/logs.js';
import { nextSecond, rawMail, waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'true', POLL_KEEP_SESSIONS_UNDER_SECONDS: '3600', WEBHOOK_RETRY_BASE_MS: '50' }), () => sandbox.redis);
let imap: LiteImap;
const LIMIT = 4;
const clients: ImapFlow[] = [];

beforeAll(async () => {
  imap = await startLiteImap({ pki: sandbox.pki, maxConnectionsPerMailbox: LIMIT });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await imap?.stop();
});

const appToken = (roles = ['IMAP.AccessAsApp']) => mintAppToken(sandbox.pki.signingKey, { tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, roles });
const userToken = (upn: string, scopes = ['IMAP.AccessAsUser.All']) =>
  mintUserToken(sandbox.pki.signingKey, { tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, scopes, upn, oid: randomUUID() });

function client(user: string, accessToken: string): ImapFlow {
  const c = new ImapFlow({ host: '127.0.0.1', port: imap.port, secure: true, auth: { user, accessToken }, tls: { ca: [sandbox.pki.caCertPem] }, logger: false });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

/** A raw TLS client: what it sends, and a wait for a line of the server's answers. */
async function raw(): Promise<{ socket: TLSSocket; send(line: string): void; line(pattern: RegExp): Promise<string>; text(): string }> {
  const socket = connect({ host: '127.0.0.1', port: imap.port, ca: [sandbox.pki.caCertPem] });
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  await once(socket, 'secureConnect');
  return {
    socket,
    send: (line) => socket.write(line),
    line: (pattern) => waitUntil(`a line like ${pattern}`, () => received.split('\r\n').find((l) => pattern.test(l))),
    text: () => received,
  };
}

async function login(user: string): Promise<Awaited<ReturnType<typeof raw>>> {
  const r = await raw();
  const sasl = Buffer.from(`user=${user}\x01auth=Bearer ${await appToken()}\x01\x01`).toString('base64');
  r.send(`a1 AUTHENTICATE XOAUTH2 ${sasl}\r\n`);
  await r.line(/^a1 OK/);
  return r;
}

describe('lite IMAP: reading commands', () => {
  it('reads literals (synchronizing or not), quoted strings, lists and sections', () => {
    const lines: string[] = [];
    let continuations = 0;
    const reader = new LineReader();
    const push = (text: string) => reader.push(Buffer.from(text, 'latin1'), (l) => lines.push(l.toString('latin1')), () => continuations++);
    push('a1 STATUS {10}\r\n');
    expect(continuations).toBe(1);
    push('Sent Items (MESSAGES)\r\na2 LIST "" {3+}\r\nab');
    push('c\r\n');
    expect(continuations).toBe(1);
    expect(parseCommand(Buffer.from(lines[0]!, 'latin1'))).toEqual({ tag: 'a1', name: 'STATUS', args: [{ kind: 'string', value: 'Sent Items' }, { kind: 'list', items: [{ kind: 'atom', value: 'MESSAGES' }] }] });
    expect(parseCommand(Buffer.from(lines[1]!, 'latin1')).args).toEqual([{ kind: 'string', value: '' }, { kind: 'string', value: 'abc' }]);
    expect(parseCommand(Buffer.from('b UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (content-type message-id)]<0.100>)')).args[1]).toEqual({
      kind: 'list', items: [{ kind: 'atom', value: 'UID' }, { kind: 'atom', value: 'BODY.PEEK[HEADER.FIELDS (content-type message-id)]<0.100>' }],
    });
  });

  it('refuses what is not a command with typed errors, and a line or literal past the bounds', () => {
    for (const bad of ['', '(tag) NOOP', 'a (', 'a )', 'a "open', 'a {5}\r\nab', 'a UID', 'a BODY[', `a ${'('.repeat(30)}`]) {
      expect(() => parseCommand(Buffer.from(bad, 'latin1')), bad).toThrow(ImapSyntaxError);
    }
    const reader = new LineReader();
    expect(() => reader.push(Buffer.alloc(70 * 1024, 0x61), () => undefined, () => undefined)).toThrow(ImapLineTooLong);
    expect(() => new LineReader().push(Buffer.from('a LOGIN {99999999}\r\n'), () => undefined, () => undefined)).toThrow(ImapLineTooLong);
  });
});

describe('lite IMAP: logins', () => {
  it('greets and advertises as Exchange does', async () => {
    const r = await raw();
    expect(await r.line(/^\* OK/)).toBe('* OK The Microsoft Exchange IMAP4 service is ready.');
    r.send('c1 CAPABILITY\r\n');
    expect(await r.line(/^\* CAPABILITY/)).toContain('AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE');
    r.socket.destroy();
  });

  it('opens a mailbox with an app token (IMAP.AccessAsApp) or the user\'s own delegated token', async () => {
    const app = client('login-app@contoso.example', await appToken());
    await app.connect();
    expect(app.usable).toBe(true);
    const user = client('login-user@contoso.example', await userToken('login-user@contoso.example'));
    await user.connect();
    expect(await user.status('INBOX', { messages: true })).toMatchObject({ messages: 0 });
    await app.logout();
    await user.logout();
  });

  it.each([
    ['an app token without IMAP.AccessAsApp', () => appToken(['SMTP.SendAsApp'])],
    ['another user\'s delegated token', () => userToken('someone-else@contoso.example')],
    ['a delegated token without IMAP.AccessAsUser.All', () => userToken('refused@contoso.example', ['SMTP.Send'])],
    ['a token signed by another key', async () => `${(await appToken()).split('.').slice(0, 2).join('.')}.${Buffer.alloc(256, 1).toString('base64url')}`],
  ])('refuses %s with Exchange\'s NO AUTHENTICATE failed.', async (_what, token) => {
    const r = await raw();
    const sasl = Buffer.from(`user=refused@contoso.example\x01auth=Bearer ${await token()}\x01\x01`).toString('base64');
    r.send(`a1 AUTHENTICATE XOAUTH2 ${sasl}\r\n`);
    expect(await r.line(/^a1 /)).toBe('a1 NO AUTHENTICATE failed.');
    r.socket.destroy();
    const c = client('refused@contoso.example', await token());
    await expect(c.connect()).rejects.toMatchObject({ authenticationFailed: true });
  });

  it('accepts a login beyond the connection limit and then refuses every command, as Exchange; a slot freed is taken again', async () => {
    const user = 'capped@contoso.example';
    const open: ImapFlow[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const c = client(user, await appToken());
      await c.connect();
      open.push(c);
    }
    expect(imap.sessionsOf(user)).toBe(LIMIT);
    const over = await login(user);
    over.send('a2 NAMESPACE\r\n');
    expect(await over.line(/^a2 /)).toBe('a2 BAD User is authenticated but not connected.');
    over.socket.destroy();
    await expect(client(user, await appToken()).connect()).rejects.toMatchObject({ authenticationFailed: true });
    await open[0]!.logout();
    await waitUntil('a slot freed', () => imap.sessionsOf(user) === LIMIT - 1 || undefined);
    const again = client(user, await appToken());
    await again.connect();
    expect(again.usable).toBe(true);
    for (const c of [...open.slice(1), again]) await c.logout();
  });
});

describe('lite IMAP: mail', () => {
  it('answers STATUS, LIST, SEARCH and FETCH of injected mail as imapflow reads them', async () => {
    const user = 'mail@contoso.example';
    imap.deliver(user, rawMail(user, 'first'));
    const second = rawMail(user, 'second', 'sales@fabrikam.example');
    const uid = imap.deliver(user, second);
    expect(uid).toBe(2);
    const c = client(user, await appToken());
    await c.connect();
    expect(await c.status('INBOX', { messages: true, uidNext: true, uidValidity: true })).toMatchObject({ messages: 2, uidNext: 3 });
    const folders = await c.list();
    expect(folders.find((f) => f.path === 'Sent Items')?.specialUse).toBe('\\Sent');
    expect(folders.find((f) => f.path === 'Deleted Items')?.specialUse).toBe('\\Trash');
    await c.mailboxOpen('INBOX', { readOnly: true });
    expect(await c.search({ uid: '2:*' }, { uid: true })).toEqual([2]);
    expect(await c.search({ since: new Date(Date.now() - 86_400_000) }, { uid: true })).toEqual([1, 2]);
    expect(await c.search({ seen: false }, { uid: true })).toEqual([1, 2]);
    const fetched = [];
    for await (const m of c.fetch('2', { uid: true, envelope: true, size: true, flags: true, internalDate: true, bodyStructure: true, headers: ['content-type', 'message-id'] }, { uid: true })) fetched.push(m);
    const [message] = fetched;
    expect(message).toMatchObject({ uid: 2, envelope: { subject: 'second', from: [{ name: 'Customer', address: 'sales@fabrikam.example' }], to: [{ address: user }] }, bodyStructure: { type: 'text/plain' } });
    expect(message!.size).toBe(Buffer.byteLength(second));
    expect(message!.flags).toEqual(new Set());
    expect(message!.headers?.toString()).toMatch(/^Message-ID: </m);
    const source = await c.fetchOne('1', { source: true }, { uid: true });
    expect(source && source.source?.toString()).toContain('Subject: first');
    // EXAMINE is read-only: BODY[] did not set \Seen.
    expect(await c.search({ seen: false }, { uid: true })).toEqual([1, 2]);
    await c.logout();
  });

  it('tells an idling client of injected mail at once (EXISTS)', async () => {
    const user = 'idle@contoso.example';
    const c = client(user, await appToken());
    await c.connect();
    await c.mailboxOpen('INBOX', { readOnly: true });
    const idling = once(imap.events, 'idle');
    void c.idle();
    await idling;
    const exists = once(c, 'exists');
    imap.deliver(user, rawMail(user, 'while idling'));
    const [event] = (await exists) as [{ count: number; prevCount: number }];
    expect(event).toMatchObject({ count: 1, prevCount: 0 });
    await c.logout();
  });

  it('takes mail through its HTTP control API', async () => {
    const control = await startLiteImapControl(imap);
    try {
      const res = await fetch(`${control.url}/mailboxes/${encodeURIComponent('http@contoso.example')}/messages`, { method: 'POST', body: rawMail('http@contoso.example', 'by http') });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ uid: 1 });
      expect((await fetch(`${control.url}/mailboxes/x%40contoso.example/messages?folder=Nope`, { method: 'POST', body: 'x' })).status).toBe(400);
    } finally {
      await control.close();
    }
  });
});

describe('lite IMAP: hostile input', () => {
  it('answers malformed and out-of-state commands with BAD, closes on a huge line, and goes on serving', async () => {
    const r = await raw();
    await r.line(/^\* OK/);
    r.send('x1 SELECT INBOX\r\n');
    expect(await r.line(/^x1 /)).toBe('x1 BAD Command received in Invalid state.');
    r.send('x2 FROBNICATE\r\n');
    expect(await r.line(/^x2 /)).toMatch(/^x2 BAD/);
    r.send('x3 AUTHENTICATE XOAUTH2 !!!not-base64!!!\r\n');
    expect(await r.line(/^x3 /)).toBe('x3 NO AUTHENTICATE failed.');
    r.send('x4 LOGIN a b\r\n');
    expect(await r.line(/^x4 /)).toBe('x4 NO LOGIN failed.');
    r.send('\x00\xff\xfe garbage ((( \r\n');
    await r.line(/^\* BAD/);
    r.socket.destroy();

    const s = await login('hostile@contoso.example');
    for (const [tag, line] of [
      ['y1', 'y1 EXAMINE'], ['y2', 'y2 STATUS INBOX (MESSAGES'], ['y3', 'y3 STATUS INBOX (BOGUS)'], ['y4', 'y4 UID FETCH 1:* (ENVELOPE'],
      ['y5', 'y5 UID SEARCH UID 1:*'], ['y6', `y6 LIST "" ${'('.repeat(50)}`], ['y7', 'y7 SEARCH "unterminated'],
    ] as const) {
      s.send(`${line}\r\n`);
      expect(await s.line(new RegExp(`^${tag} `))).toMatch(new RegExp(`^${tag} BAD`));
    }
    s.send('z1 EXAMINE INBOX\r\n');
    await s.line(/^z1 OK/);
    for (const [tag, line] of [['z2', 'z2 UID FETCH 0:x (FLAGS)'], ['z3', 'z3 UID FETCH 1 (MODSEQ)'], ['z4', 'z4 UID SEARCH FROB 1'], ['z5', 'z5 UID SEARCH SINCE 99-Foo-20']] as const) {
      s.send(`${line}\r\n`);
      expect(await s.line(new RegExp(`^${tag} `))).toMatch(new RegExp(`^${tag} BAD`));
    }
    s.send('z6 IDLE\r\n');
    await s.line(/^\+ IDLE accepted/);
    s.send('not done\r\n');
    await s.line(/^\* BAD Expected DONE/);
    s.send('DONE\r\n');
    expect(await s.line(/^z6 /)).toBe('z6 OK IDLE completed.');
    // A synchronizing literal past the bound, then a line with no end: the connection is closed.
    const closed = once(s.socket, 'close');
    s.send(`z7 LIST "" ${'x'.repeat(70 * 1024)}`);
    await closed;
    expect(s.text()).toContain('* BYE');

    const c = client('after-hostile@contoso.example', await appToken());
    await c.connect();
    expect(c.usable).toBe(true);
    await c.logout();
  });
});

describe('lite IMAP: mailsync against it', () => {
  it('serves mailsync\'s poll session: STATUS, special-use folders, SEARCH, envelopes and IDLE activity', async () => {
    const user = 'poll-session@contoso.example';
    imap.deliver(user, rawMail(user, 'before'));
    const session = createPollSession({ host: '127.0.0.1', port: imap.port, secure: true, user, accessToken: await appToken(), ca: [sandbox.pki.caCertPem], logger: t.deps.logger });
    try {
      await session.connect();
      expect(await session.status('INBOX')).toMatchObject({ messages: 1, uidNext: 2 });
      expect(await session.resolveFolder('\\Sent')).toBe('Sent Items');
      imap.deliver(user, rawMail(user, 'new'));
      expect(await session.searchUids('INBOX', 2, 2, 10)).toEqual([2]);
      expect(await session.fetchEnvelopes('INBOX', [2])).toMatchObject([{ uid: 2, subject: 'new', from: ['customer@example.org'], to: [user], contentType: null }]);
      const activity = new Promise((resolve) => session.onActivity('INBOX', resolve));
      const idling = once(imap.events, 'idle');
      await session.idleOn('INBOX', 3);
      await idling;
      imap.deliver(user, rawMail(user, 'idle news'));
      expect(await activity).toBe('mail');
    } finally {
      await session.logout();
    }
  });

  it('serves the poll session also when it advertises ENABLE and SPECIAL-USE', async () => {
    const other = await startLiteImap({ pki: sandbox.pki, capabilities: ['IMAP4rev1', 'AUTH=XOAUTH2', 'SASL-IR', 'IDLE', 'UIDPLUS', 'ENABLE', 'SPECIAL-USE', 'NAMESPACE', 'ID'] });
    const user = 'special-use@contoso.example';
    const session = createPollSession({ host: '127.0.0.1', port: other.port, secure: true, user, accessToken: await appToken(), ca: [sandbox.pki.caCertPem], logger: t.deps.logger });
    try {
      await session.connect();
      expect(await session.resolveFolder('\\Junk')).toBe('Junk Email');
      other.deliver(user, rawMail(user, 'hello'));
      expect(await session.status('INBOX')).toMatchObject({ messages: 1, uidNext: 2 });
      expect(other.stats().bad).toBe(0);
    } finally {
      await session.logout();
      await other.stop();
    }
  });

  it('a poll session leaves COMPRESS=DEFLATE alone (zlib\'s state would cost about 300 KB per kept session); a plain session asks for it', async () => {
    const other = await startLiteImap({ pki: sandbox.pki, capabilities: ['IMAP4rev1', 'AUTH=XOAUTH2', 'SASL-IR', 'IDLE', 'COMPRESS=DEFLATE'] });
    const user = 'compress@contoso.example';
    const accessToken = await appToken();
    // imapflow's own log of the commands it sends, at trace, through the session's library logger.
    const polled = captureLogs();
    const plained = captureLogs();
    const login = { host: '127.0.0.1', port: other.port, secure: true, user, accessToken, ca: [sandbox.pki.caCertPem] };
    const session = createPollSession({ ...login, logger: createLogger({ level: 'trace' }, polled.stream) });
    // The imitation does not know COMPRESS: a session that asks for it is refused and goes on uncompressed.
    const plain = createPollSession({ ...login, logger: createLogger({ level: 'trace' }, plained.stream), compress: true });
    try {
      await session.connect();
      await plain.connect();
      expect(await session.status('INBOX')).toMatchObject({ messages: 0 });
      expect(await plain.status('INBOX')).toMatchObject({ messages: 0 });
      expect(polled.text()).not.toContain('COMPRESS DEFLATE');
      expect(plained.text()).toContain('COMPRESS DEFLATE');
      // The library's entries carry the session's bindings, and never the token.
      expect(polled.records().some((r) => r.component === 'imap' && r.imapHost === `127.0.0.1:${other.port}`)).toBe(true);
      for (const logs of [polled, plained]) expect(logs.text()).not.toContain(accessToken.slice(0, 40));
    } finally {
      await session.logout();
      await plain.logout();
      await other.stop();
    }
  });

  it('has a mailbox polled through the app announce new mail by IDLE, on one kept session', async () => {
    await t.deps.jobs.startAll();
    const hook = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: t.auth, payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received'] } });
    expect(hook.statusCode, hook.body).toBe(201);
    sandbox.receiver.setSecrets([hook.json().secret]);
    const connection = await t.deps.services.connections.create({
      name: 'lite', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const user = 'app-polled@contoso.example';
    imap.deliver(user, rawMail(user, 'there before'));
    // INTERNALDATE counts seconds: mail of the second the mailbox is added in counts as new.
    await nextSecond();
    const idling = new Promise<void>((resolve) => imap.events.on('idle', (u) => u === user && resolve()));
    const mailbox = await t.deps.services.mailboxes.create({
      connectionId: connection.id, email: user, pollIntervalSeconds: 3600, ...sandbox.mailServers(), imap: { host: '127.0.0.1', port: imap.port, secure: true },
    });
    // The first poll (the baseline, then IDLE) now, not somewhere in the first hour; the next scheduled one is an hour away.
    expect((await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${mailbox.id}/poll`, headers: t.auth })).statusCode).toBe(202);
    await idling;
    imap.deliver(user, rawMail(user, 'by idle'));
    const delivery = await waitUntil('the webhook', () => sandbox.receiver.received.find((d) => (d.body as { data: { mailboxId: string; subject: string } }).data.subject === 'by idle'));
    expect(delivery.verified).toBe(true);
    expect((delivery.body as { data: Record<string, unknown> }).data).toMatchObject({ mailboxId: mailbox.id, email: user, folder: 'INBOX', uid: 2 });
    expect(sandbox.receiver.received.some((d) => (d.body as { data: { subject: string } }).data.subject === 'there before')).toBe(false);
    expect(imap.sessionsOf(user)).toBeLessThanOrEqual(2);
  });
});
