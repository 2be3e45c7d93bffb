import { describe, expect, it } from 'vitest';
import { watchedSince, watchFolders } from '../../src/domain/mailboxes/watched-folders.js';
import { advance, markTooLarge, planBatches, planFolder, startCursor } from '../../src/domain/polling/cursor.js';
import { backoffDelayMs, firstPollAt, nextPollAt, phaseOf, throttleDelayMs } from '../../src/domain/polling/schedule.js';
import { transition } from '../../src/domain/polling/transitions.js';

describe('folder plan', () => {
  it('looks for where a new folder starts', () => {
    expect(planFolder(undefined, { uidValidity: 7, uidNext: 42 })).toEqual({ kind: 'start' });
  });

  it('starts a new folder before the first message received since it is watched, or at its end', () => {
    expect(startCursor({ uidValidity: 7, uidNext: 42 }, 40)).toEqual({ uidValidity: 7, uidNext: 42, lastSeenUid: 39 });
    expect(startCursor({ uidValidity: 7, uidNext: 42 }, 1)).toEqual({ uidValidity: 7, uidNext: 42, lastSeenUid: 0 });
    expect(startCursor({ uidValidity: 7, uidNext: 42 }, undefined)).toEqual({ uidValidity: 7, uidNext: 42, lastSeenUid: 41 });
    expect(startCursor({ uidValidity: 7, uidNext: 1 }, undefined)).toEqual({ uidValidity: 7, uidNext: 1, lastSeenUid: 0 });
    // A server's UID past its own UIDNEXT does not take the cursor past the folder's end.
    expect(startCursor({ uidValidity: 7, uidNext: 42 }, 90).lastSeenUid).toBe(41);
  });

  it('re-baselines at the end when UIDVALIDITY changes', () => {
    const plan = planFolder({ uidValidity: 7, uidNext: 42, lastSeenUid: 41 }, { uidValidity: 8, uidNext: 3 });
    expect(plan).toEqual({ kind: 'baseline', cursor: { uidValidity: 8, uidNext: 3, lastSeenUid: 2 } });
  });

  it('fetches above the last announced UID when UIDNEXT moved', () => {
    expect(planFolder({ uidValidity: 7, uidNext: 42, lastSeenUid: 41 }, { uidValidity: 7, uidNext: 45 })).toMatchObject({ kind: 'fetch', fromUid: 42 });
  });

  it('never moves the cursor backwards on a stale STATUS', () => {
    const plan = planFolder({ uidValidity: 7, uidNext: 45, lastSeenUid: 44 }, { uidValidity: 7, uidNext: 42 });
    expect(plan).toEqual({ kind: 'unchanged', cursor: { uidValidity: 7, uidNext: 45, lastSeenUid: 44 } });
  });

  it('does nothing when UIDNEXT did not move', () => {
    expect(planFolder({ uidValidity: 7, uidNext: 42, lastSeenUid: 41 }, { uidValidity: 7, uidNext: 42 }).kind).toBe('unchanged');
  });

  it('keeps when UIDVALIDITY last changed as it advances', () => {
    const changed = { uidValidity: 8, uidNext: 3, lastSeenUid: 2, uidValidityChangedAt: '2026-01-01T00:00:00.000Z' };
    expect(advance(changed, 3, 4)).toEqual({ uidValidity: 8, uidNext: 4, lastSeenUid: 3, uidValidityChangedAt: '2026-01-01T00:00:00.000Z' });
  });

  it('advances monotonically', () => {
    const c = advance({ uidValidity: 1, uidNext: 10, lastSeenUid: 9 }, 12, 13);
    expect(c).toEqual({ uidValidity: 1, uidNext: 13, lastSeenUid: 12 });
    expect(advance(c, 11, 13).lastSeenUid).toBe(12);
  });
});

describe('a FETCH answer too large', () => {
  const cursor = { uidValidity: 7, uidNext: 10, lastSeenUid: 9 };

  it('narrows a failed batch down to one message at a time, up to its last UID', () => {
    const marked = markTooLarge(cursor, [10, 12, 15]);
    expect(marked).toEqual({ ...cursor, suspectUntil: 15 });
    expect(planBatches(marked, [10, 12, 15, 16, 17], 100)).toEqual([[10], [12], [15], [16, 17]]);
    expect(planBatches(advance(marked, 12, 16), [15, 16, 17], 100)).toEqual([[15], [16, 17]]);
    const past = advance(marked, 15, 16);
    expect(past.suspectUntil).toBeUndefined();
    expect(planBatches(past, [16, 17, 18], 2)).toEqual([[16, 17], [18]]);
  });

  it('names the message that failed alone, and forgets it once announced', () => {
    const narrowed = { ...cursor, suspectUntil: 15 };
    const named = markTooLarge(advance(narrowed, 10, 16), [12]);
    expect(named).toMatchObject({ lastSeenUid: 10, suspectUntil: 15, tooLargeUid: 12 });
    expect(planBatches(named, [12, 13, 16], 100)).toEqual([[12], [13], [16]]);
    const announced = advance(named, 12, 16);
    expect(announced.tooLargeUid).toBeUndefined();
    expect(announced.suspectUntil).toBe(15);
    // A single message that failed in a batch of its own is named at once, and fetched alone next time.
    const alone = markTooLarge(cursor, [10]);
    expect(alone).toEqual({ ...cursor, tooLargeUid: 10 });
    expect(planBatches(alone, [10, 11, 12], 100)).toEqual([[10], [11, 12]]);
    expect(markTooLarge(cursor, [])).toBe(cursor);
  });

  it('is dropped by a new baseline', () => {
    const plan = planFolder({ ...cursor, suspectUntil: 15, tooLargeUid: 12 }, { uidValidity: 8, uidNext: 3 });
    expect(plan).toEqual({ kind: 'baseline', cursor: { uidValidity: 8, uidNext: 3, lastSeenUid: 2 } });
  });
});

describe('watched folders', () => {
  const cursor = { uidValidity: 1, uidNext: 5, lastSeenUid: 4 };
  const created = '2026-11-01T09:00:00.000Z';
  const later = '2026-11-20T12:00:00.000Z';

  it('watches the folders given at creation since the mailbox was added', () => {
    expect(watchedSince({ createdAt: created }, 'INBOX').toISOString()).toBe(created);
  });

  it('watches a folder added later since it was added, and forgets a folder no longer watched', () => {
    const current = { folders: ['INBOX', 'Sales'], folderState: { INBOX: cursor, Sales: cursor } };
    const next = watchFolders(current, ['INBOX', '\\Sent'], later);
    expect(next).toEqual({ folderState: { INBOX: cursor }, folderSince: { '\\Sent': later } });
    expect(watchedSince({ createdAt: created, ...next }, '\\Sent').toISOString()).toBe(later);
    expect(watchedSince({ createdAt: created, ...next }, 'INBOX').toISOString()).toBe(created);
  });

  it('starts a folder watched again afresh, dropping a cursor a poll saved meanwhile', () => {
    const current = { folders: ['INBOX'], folderState: { INBOX: cursor, Sales: cursor }, folderSince: { Sales: created } };
    expect(watchFolders(current, ['INBOX', 'Sales'], later)).toEqual({ folderState: { INBOX: cursor }, folderSince: { Sales: later } });
  });

  it('keeps the start of a folder that stays', () => {
    const current = { folders: ['INBOX', 'Sales'], folderState: {}, folderSince: { Sales: created } };
    expect(watchFolders(current, ['Sales', 'INBOX'], later)).toEqual({ folderState: {}, folderSince: { Sales: created } });
  });
});

describe('schedule', () => {
  it('spreads mailboxes over the interval by id', () => {
    const phases = Array.from({ length: 1000 }, (_, i) => phaseOf(`mbx_${i}`, 60_000));
    expect(Math.min(...phases)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...phases)).toBeLessThan(60_000);
    const buckets = new Array(6).fill(0);
    for (const p of phases) buckets[Math.floor(p / 10_000)]++;
    for (const b of buckets) expect(b).toBeGreaterThan(100); // ~167 each
    expect(phaseOf('mbx_1', 60_000)).toBe(phaseOf('mbx_1', 60_000));
    expect(firstPollAt('mbx_1', 60_000, 1000)).toBe(1000 + phaseOf('mbx_1', 60_000));
  });

  it('keeps the rhythm and never schedules in the past', () => {
    expect(nextPollAt(60_000, 60_000, 61_000)).toBe(120_000);
    const late = nextPollAt(60_000, 60_000, 250_000);
    expect(late).toBeGreaterThan(250_000);
    expect(late).toBeLessThanOrEqual(310_000);
    expect(late % 60_000).toBe(0);
  });

  it('backs off exponentially with jitter, capped, not below the interval', () => {
    expect(backoffDelayMs(1, 1000, () => 0)).toBe(2500);
    expect(backoffDelayMs(3, 1000, () => 1)).toBe(20_000);
    expect(backoffDelayMs(30, 1000, () => 1)).toBe(15 * 60_000);
    expect(backoffDelayMs(1, 60_000, () => 0)).toBe(60_000);
  });

  it("honours Exchange's suggested backoff", () => {
    expect(throttleDelayMs(299_961, 60_000)).toBe(329_957);
    expect(throttleDelayMs(undefined, 1000)).toBe(66_000); // no suggestion: a minute, plus slack
  });
});

describe('state transitions', () => {
  const error = { code: 'imap_auth_failed', detail: 'x' };
  it('announces an error once, and the recovery', () => {
    expect(transition('active', { kind: 'auth_error', error })).toEqual({ state: 'auth_error', event: { type: 'mailbox.error', error } });
    expect(transition('auth_error', { kind: 'auth_error', error })).toEqual({ state: 'auth_error', event: undefined });
    expect(transition('auth_error', { kind: 'ok' })).toEqual({ state: 'active', event: { type: 'mailbox.recovered' } });
    expect(transition('active', { kind: 'ok' })).toEqual({ state: 'active', event: undefined });
    expect(transition('auth_error', { kind: 'throttled', error }).event?.type).toBe('mailbox.error');
  });
});
