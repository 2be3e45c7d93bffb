/**
 * The leases a process keeps alive share one timer (store/lock.ts LeaseKeeper): every lease is
 * extended within a third of its lifetime, a lease found taken is lost (and no longer extended),
 * and the timer runs only while a lease is kept. The Redis side is redis-coordination.test.ts's.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseKeeper, type Lease } from '../../src/store/lock.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const lease = (n: number): Lease => ({ key: `lock:${n}`, token: `t${n}` });

describe('LeaseKeeper', () => {
  it('extends every kept lease at each tick, with one timer for all of them', async () => {
    const extended: string[] = [];
    const keeper = new LeaseKeeper(async (l) => (extended.push(l.key), true), 1_000);
    const kept = Array.from({ length: 100 }, (_, i) => keeper.keep(lease(i)));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(extended).toHaveLength(100);
    expect(new Set(extended).size).toBe(100);
    // A lease kept just after a tick is extended at the next one, within the period.
    await vi.advanceTimersByTimeAsync(10);
    const late = keeper.keep(lease(1000));
    await vi.advanceTimersByTimeAsync(990);
    expect(extended.filter((k) => k === 'lock:1000')).toHaveLength(1);
    for (const k of [...kept, late]) k.stop();
    expect(keeper.size).toBe(0);
    // No lease kept: no timer left running, and nothing extended any more.
    expect(vi.getTimerCount()).toBe(0);
    const before = extended.length;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(extended).toHaveLength(before);
  });

  it('says a lease is lost when an extension finds another holder, once, and stops extending it', async () => {
    const extended: string[] = [];
    const keeper = new LeaseKeeper(async (l) => (extended.push(l.key), l.key !== 'lock:2'), 1_000);
    const one = keeper.keep(lease(1));
    const two = keeper.keep(lease(2));
    const told: string[] = [];
    two.onLost(() => told.push('listener'));
    void two.lost.then(() => told.push('promise'));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(two.isLost()).toBe(true);
    expect(one.isLost()).toBe(false);
    expect(told.sort()).toEqual(['listener', 'promise']);
    // Told at once when it is lost already.
    two.onLost(() => told.push('late'));
    expect(told).toContain('late');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(extended.filter((k) => k === 'lock:2')).toHaveLength(1);
    expect(extended.filter((k) => k === 'lock:1')).toHaveLength(4);
    one.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps a lease through failed extensions (Redis unreachable): not lost', async () => {
    let calls = 0;
    const keeper = new LeaseKeeper(async () => {
      calls += 1;
      throw new Error('connection refused');
    }, 1_000);
    const kept = keeper.keep(lease(1));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls).toBe(3);
    expect(kept.isLost()).toBe(false);
    kept.stop();
  });
});
