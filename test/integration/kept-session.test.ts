/**
 * A session kept between polls outlives its socket inactivity timeout (issue 19): imapflow ends a
 * session quiet for that long, so a session kept for a poll interval of a minute or more (the
 * timeout's default) was lost before each poll, which logged in again. The pool parks what it keeps
 * (the timeout off) and unparks what it hands out. Here the timeout is short, and a session that is
 * not kept, quiet since after the kept one, is the clock: once it has timed out, the kept one is
 * still logged in and answers.
 */
import { describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { createPollSession } from '../../src/adapters/imap/poll-session.js';
import { SessionPool } from '../../src/adapters/imap/session-pool.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { waitUntil } from '../support/mail.js';

const sandbox = useSandbox();
const t = useTestApp(() => sandbox.serviceEnv(), () => sandbox.redis);

describe('kept IMAP sessions', () => {
  it('outlive the socket timeout while kept, and time out again once handed out', async () => {
    const connection = await t.deps.services.connections.create({
      name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const token = await t.deps.services.tokens.appToken(connection.id);
    const open = async () => {
      const session = createPollSession({
        ...sandbox.mailServers().imap, user: 'kept-session@contoso.example', accessToken: token.accessToken, ca: t.deps.trust.ca,
        logger: t.deps.logger, timeouts: { socketMs: 1_000 },
      });
      await session.connect();
      await session.status('INBOX');
      return session;
    };
    const pool = new SessionPool({ maxOpen: 10, idleMs: 60_000, renewBeforeMs: 0 });
    const kept = await open();
    pool.release('m1', kept, token, true);
    const notKept = await open();
    try {
      await waitUntil('the session not kept timed out', () => !notKept.usable || undefined);
      expect(kept.usable).toBe(true);
      const again = await pool.acquire('m1', token, () => Promise.reject(new Error('a new session was opened')));
      expect(again).toEqual({ session: kept, reused: true });
      expect((await kept.status('INBOX')).uidNext).toBeGreaterThan(0);
      // Handed out, its timeout is back: left quiet, it ends like any other.
      await waitUntil('the session handed out timed out', () => !kept.usable || undefined);
    } finally {
      notKept.close();
      await pool.closeAll();
    }
  });
});
