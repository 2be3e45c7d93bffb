/** The SMTP pool's share of a mailbox's connection slots (issue 17): taken once, renewed, given back. */
import { describe, expect, it } from 'vitest';
import { SmtpSendPool, type ConnectionSlots, type SlotLease } from '../../src/adapters/smtp/send-pool.js';

/** Slots kept in memory: what each take asked for, which leases are live. */
function fakeSlots(limit: number) {
  const live = new Set<number>();
  const takes: number[] = [];
  let next = 0;
  let lapsed = false;
  const slots: ConnectionSlots = {
    async take(_mailboxId, count) {
      takes.push(count);
      await new Promise((r) => setImmediate(r));
      if (live.size + 1 > limit) return undefined;
      const id = next++;
      live.add(id);
      const lease: SlotLease = {
        renew: async () => !lapsed && live.has(id),
        release: async () => {
          live.delete(id);
        },
      };
      return lease;
    },
  };
  return { slots, live, takes, lapse: () => (lapsed = true) };
}

const pool = (slots: ConnectionSlots, now: () => number) =>
  new SmtpSendPool({ ca: [], connectionsPerMailbox: 2, idleMs: 1_000, renewBeforeMs: 0, sendTimeoutMs: 1_000, slots }, now);

describe('SmtpSendPool connection slots', () => {
  it('takes a mailbox\'s slots once for concurrent reservations, and answers false when others hold them', async () => {
    const fake = fakeSlots(1);
    const a = pool(fake.slots, () => 0);
    expect(await Promise.all([a.reserve('mbx_1'), a.reserve('mbx_1'), a.reserve('mbx_1')])).toEqual([true, true, true]);
    expect(fake.takes).toEqual([2]);
    const b = pool(fake.slots, () => 0);
    expect(await b.reserve('mbx_1')).toBe(false);
  });

  it('gives back slots reserved but unused for idleMs, and takes them again after they lapsed', async () => {
    let now = 0;
    const fake = fakeSlots(1);
    const p = pool(fake.slots, () => now);
    expect(await p.reserve('mbx_1')).toBe(true);
    now = 500;
    await p.sweep();
    expect(fake.live.size).toBe(1);
    now = 1_600;
    await p.sweep();
    await new Promise((r) => setImmediate(r));
    expect(fake.live.size).toBe(0);

    expect(await p.reserve('mbx_1')).toBe(true);
    fake.lapse();
    now = 1_700;
    await p.sweep();
    // Lapsed: no longer held, so the next reservation asks Redis again.
    const takes = fake.takes.length;
    await p.reserve('mbx_1');
    expect(fake.takes.length).toBe(takes + 1);
  });
});
