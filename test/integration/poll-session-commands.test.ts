/**
 * What a kept session sends per poll (issue 19), counted by the IMAP proxy in front of Dovecot.
 * A folder selected only to fetch new mail is closed at the next poll (CLOSE of a read-only
 * folder removes nothing) and every later poll is a STATUS alone; a folder the session keeps
 * selected (it follows the folder's changes, or idles on it) is brought up to date with a NOOP
 * before each STATUS, since Dovecot answers STATUS of the selected folder from the session's view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startImapProxy, type ImapProxy } from '../../sandbox/imap-proxy.js';
import { createPollSession, type PollSession } from '../../src/adapters/imap/poll-session.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => sandbox.serviceEnv(), () => sandbox.redis);
let proxy: ImapProxy;
beforeAll(async () => {
  proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
});
afterAll(async () => {
  await proxy?.stop();
});

async function open(user: string): Promise<PollSession> {
  const connection = await t.deps.services.connections.create({
    name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
    clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
  });
  const token = await t.deps.services.tokens.appToken(connection.id);
  const session = createPollSession({
    host: '127.0.0.1', port: proxy.port, secure: true, user, accessToken: token.accessToken, ca: t.deps.trust.ca, logger: t.deps.logger,
  });
  await session.connect();
  return session;
}

/** The commands `fn` made the session send, by name. */
async function sent(fn: () => Promise<unknown>): Promise<string[]> {
  const before = proxy.commands.length;
  await fn();
  return proxy.commands.slice(before).map((c) => c.command);
}

describe('a kept poll session', () => {
  it('closes a folder selected to fetch new mail, then polls it with a STATUS alone', async () => {
    const user = 'session-commands@contoso.example';
    await sandbox.dovecot.deliver(user, rawMail(user, 'one'));
    const session = await open(user);
    try {
      const status = await session.status('INBOX');
      const uids = await session.searchUids('INBOX', 1, status.uidNext - 1, 10);
      expect((await session.fetchEnvelopes('INBOX', uids)).map((e) => e.subject)).toEqual(['one']);
      // The next poll closes the folder the fetch selected: the same two commands as NOOP and STATUS, once.
      await sandbox.dovecot.deliver(user, rawMail(user, 'two'));
      let answer = status;
      expect(await sent(async () => (answer = await session.status('INBOX')))).toEqual(['CLOSE', 'STATUS']);
      expect(answer.uidNext).toBe(status.uidNext + 1);
      // Later polls: STATUS alone, and up to date.
      await sandbox.dovecot.deliver(user, rawMail(user, 'three'));
      expect(await sent(async () => (answer = await session.status('INBOX')))).toEqual(['STATUS']);
      expect(answer.uidNext).toBe(status.uidNext + 2);
      expect(await sent(() => session.status('INBOX'))).toEqual(['STATUS']);
    } finally {
      await session.logout();
    }
  });

  it('keeps a folder it follows selected, and brings its view up to date with a NOOP before each STATUS', async () => {
    const user = 'session-commands-tracked@contoso.example';
    await sandbox.dovecot.deliver(user, rawMail(user, 'one'));
    const session = await open(user);
    try {
      const status = await session.status('INBOX');
      await session.fetchNewestFlags('INBOX', 10, 10);
      await sandbox.dovecot.deliver(user, rawMail(user, 'two'));
      let answer = status;
      expect(await sent(async () => (answer = await session.status('INBOX')))).toEqual(['NOOP', 'STATUS']);
      expect(answer.uidNext).toBe(status.uidNext + 1);
      // Still selected: the next look at its flags selects nothing again.
      expect(await sent(() => session.fetchNewestFlags('INBOX', 10, 10))).toEqual(['FETCH']);
      expect(await sent(() => session.status('INBOX'))).toEqual(['NOOP', 'STATUS']);
    } finally {
      await session.logout();
    }
  });
});
