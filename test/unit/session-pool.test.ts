/** The IMAP session pool's rules, with stand-in sessions (the pool only asks `usable` and calls `logout`). */
import { describe, expect, it } from 'vitest';
import { SessionPool } from '../../src/adapters/imap/session-pool.js';
import type { PollSession } from '../../src/adapters/imap/poll-session.js';

function session(): PollSession & { loggedOut: number } {
  const s = { usable: true, loggedOut: 0, logout: async () => { s.loggedOut += 1; s.usable = false; } };
  return s as unknown as PollSession & { loggedOut: number };
}

const token = (ms: number) => ({ accessToken: 't', expiresAt: new Date(Date.now() + ms) });

describe('SessionPool', () => {
  it('reuses a kept session while its token lives, and replaces it near expiry', async () => {
    const pool = new SessionPool({ maxOpen: 10, idleMs: 60_000, renewBeforeMs: 300_000 });
    const first = session();
    const a = await pool.acquire('m1', token(3_600_000), async () => first);
    expect(a.reused).toBe(false);
    pool.release('m1', first, token(3_600_000), true);
    expect((await pool.acquire('m1', token(3_600_000), async () => session())).session).toBe(first);
    pool.release('m1', first, token(200_000), true); // its token now expires within the renewal margin
    const fresh = session();
    const b = await pool.acquire('m1', token(3_600_000), async () => fresh);
    expect(b.session).toBe(fresh);
    expect(first.loggedOut).toBe(1);
    await pool.closeAll();
  });

  it('closes what it does not keep, and refuses admission when full instead of evicting', async () => {
    const pool = new SessionPool({ maxOpen: 2, idleMs: 60_000, renewBeforeMs: 0 });
    const sessions = [session(), session(), session()];
    for (const [i, s] of sessions.entries()) pool.release(`m${i}`, s, token(3_600_000), true);
    expect(pool.size).toBe(2);
    expect(sessions[2]!.loggedOut).toBe(1);
    const unhealthy = session();
    pool.release('m9', unhealthy, token(3_600_000), false);
    expect(unhealthy.loggedOut).toBe(1);
    await pool.closeAll();
    expect(sessions[0]!.loggedOut + sessions[1]!.loggedOut).toBe(2);
  });

  it('never closes a session another poll is using', async () => {
    const pool = new SessionPool({ maxOpen: 10, idleMs: 60_000, renewBeforeMs: 0 });
    const kept = session();
    pool.release('m1', kept, token(3_600_000), true);
    const inUse = await pool.acquire('m1', token(3_600_000), async () => session());
    const second = session();
    const other = await pool.acquire('m1', token(3_600_000), async () => second);
    expect(other.session).toBe(second);
    pool.release('m1', second, token(3_600_000), true);
    expect(kept.loggedOut).toBe(0);
    expect(second.loggedOut).toBe(1);
    pool.release('m1', inUse.session, token(3_600_000), true);
    expect(pool.size).toBe(1);
    await pool.closeAll();
  });
});
