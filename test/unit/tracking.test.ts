/** Following changes (issue 16): the window diff (pure) and its compact encoding. */
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  ANSWERED, DRAFT, FLAGGED, SEEN, baselineWindow, changeEventId, diffWindow, flagCode, isCurrent, searchDigest, windowDigest, type TrackedWindow,
} from '../../src/domain/polling/tracking.js';
import { decodeSummary, decodeWindow, encodeWindow } from '../../src/store/tracked-windows.js';

const stored = (messages: [number, string[]][], version = 3): TrackedWindow => ({
  uidValidity: 7, since: 100, version, messageIds: true, checkedAt: 0,
  messages: messages.map(([uid, flags]) => ({ uid, ...flagCode(flags), messageId: `<m${uid}@x>` })),
});

describe('tracked window diff', () => {
  it('codes system flags as bits and keywords as one digest byte, whatever their case or order', () => {
    expect(flagCode(['\\Seen', '\\Answered'])).toEqual({ code: SEEN | ANSWERED, keywords: 0 });
    const a = flagCode(['$Label1', 'Work', '\\Flagged']);
    expect(a.code).toBe(FLAGGED);
    expect(a.keywords).toBeGreaterThan(0);
    expect(flagCode(['work', '$label1']).keywords).toBe(a.keywords);
    expect(flagCode(['\\Recent']).code).toBe(0);
  });

  it('finds nothing when nothing changed', () => {
    const previous = stored([[10, []], [11, ['\\Seen']]]);
    const diff = diffWindow(previous, [{ uid: 10, flags: [] }, { uid: 11, flags: ['\\Seen'] }], 1000);
    expect(diff).toMatchObject({ updated: [], deleted: [], joined: [], changed: false });
  });

  it('announces what changed of seen, flagged and answered, with the flags now', () => {
    const previous = stored([[10, []], [11, ['\\Seen', '\\Flagged']], [12, ['\\Seen']]]);
    const diff = diffWindow(previous, [
      { uid: 10, flags: ['\\Seen'] }, { uid: 11, flags: ['\\Seen'] }, { uid: 12, flags: ['\\Seen', 'Todo'] },
    ], 1000);
    expect(diff.updated.map(({ uid, changed, flags, messageId }) => ({ uid, changed, flags, messageId }))).toEqual([
      { uid: 10, changed: { seen: true }, flags: ['\\Seen'], messageId: '<m10@x>' },
      { uid: 11, changed: { flagged: false }, flags: ['\\Seen'], messageId: '<m11@x>' },
      { uid: 12, changed: {}, flags: ['\\Seen', 'Todo'], messageId: '<m12@x>' },
    ]);
    expect(diff.changed).toBe(true);
  });

  it('announces a message missing from the window as deleted, with its Message-ID', () => {
    const diff = diffWindow(stored([[10, []], [11, []], [12, []]]), [{ uid: 10, flags: [] }, { uid: 12, flags: [] }], 1000);
    expect(diff.deleted).toEqual([{ uid: 11, messageId: '<m11@x>' }]);
    expect(diff.next.map((m) => m.uid)).toEqual([10, 12]);
  });

  it('lets new messages join silently and older ones age out of a full window', () => {
    const diff = diffWindow(stored([[10, []], [11, []]]), [{ uid: 10, flags: [] }, { uid: 11, flags: [] }, { uid: 12, flags: [] }], 2);
    expect(diff).toMatchObject({ updated: [], deleted: [], joined: [12], changed: true });
    expect(diff.next.map((m) => [m.uid, m.messageId])).toEqual([[11, '<m11@x>'], [12, null]]);
  });

  it('ignores a repeated or malformed UID in the answer', () => {
    const diff = diffWindow(stored([[10, []]]), [{ uid: 10, flags: [] }, { uid: 10, flags: [] }, { uid: 0, flags: [] }, { uid: -3, flags: [] }], 5);
    expect(diff.next.map((m) => m.uid)).toEqual([10]);
    expect(diff.changed).toBe(false);
  });

  it('gives a repeated diff the same event ids, and a later change of the same message another', () => {
    const observed = [{ uid: 10, flags: ['\\Seen'] }];
    const first = diffWindow(stored([[10, []]], 3), observed, 10).updated[0]!;
    const again = diffWindow(stored([[10, []]], 3), observed, 10).updated[0]!;
    const later = diffWindow(stored([[10, []]], 5), observed, 10).updated[0]!;
    const id = (key: string): string => changeEventId('upd', 'mbx_1', 'INBOX', 7, 10, key);
    expect(id(again.key)).toBe(id(first.key));
    expect(id(later.key)).not.toBe(id(first.key));
    expect(changeEventId('del', 'mbx_1', 'INBOX', 7, 10, 'deleted')).not.toBe(changeEventId('del', 'mbx_1', 'INBOX', 8, 10, 'deleted'));
  });

  it('takes a new baseline for another UIDVALIDITY, a window older than tracking, or one keeping Message-IDs or not as no longer wanted', () => {
    const previous = stored([[10, []]]);
    expect(isCurrent(previous, 7, 100, true)).toBe(true);
    expect(isCurrent(previous, 8, 100, true)).toBe(false);
    expect(isCurrent(previous, 7, 101, true)).toBe(false);
    expect(isCurrent(previous, 7, 100, false)).toBe(false);
    expect(isCurrent({ ...previous, messageIds: false }, 7, 100, true)).toBe(false);
    expect(isCurrent(undefined, 7, 100, true)).toBe(false);
    const baseline = baselineWindow([{ uid: 5, flags: [] }, { uid: 3, flags: ['\\Seen'] }, { uid: 9, flags: [] }], 2, 8, 100, false);
    expect(baseline.messages.map((m) => m.uid)).toEqual([5, 9]);
    expect(baseline.messageIds).toBe(false);
  });
});

describe('tracked window encoding', () => {
  const window = (n: number, id: (uid: number) => string | null, messageIds = true): TrackedWindow => ({
    uidValidity: 1_700_000_000, since: 1_780_000_000, version: 42, messageIds, checkedAt: 1_780_000_500,
    messages: Array.from({ length: n }, (_, i) => ({ uid: 5000 + i * (i % 7 === 0 ? 3 : 1), code: i % 5, keywords: i % 11 === 0 ? 200 : 0, messageId: id(i) }))
      .sort((a, b) => a.uid - b.uid)
      .filter((m, i, all) => i === 0 || all[i - 1]!.uid !== m.uid),
  });

  it('round-trips', () => {
    const w = window(300, (i) => (i % 13 === 0 ? null : `<${i}.abc@example.com>`));
    expect(decodeWindow(encodeWindow(w))).toEqual(w);
  });

  it('round-trips a window without Message-IDs, which stores none', () => {
    const w = window(300, () => null, false);
    expect(decodeWindow(encodeWindow(w))).toEqual(w);
    const withIds = window(300, (i) => `<${i}.abc@example.com>`);
    expect(decodeWindow(encodeWindow({ ...withIds, messageIds: false })).messages.every((m) => m.messageId === null)).toBe(true);
  });

  it('keeps 1,000 UIDs with flags (no Message-IDs) within 3 KB', () => {
    expect(encodeWindow(window(1000, () => null, false)).length).toBeLessThan(3 * 1024);
  });

  it('reads a format-1 window (written before windows without Message-IDs) as one keeping them', () => {
    // Format 1: no options byte; uidValidity 7, since 100, version 3, one message: UID 10, \\Seen, '<a@b>'.
    const id = Buffer.from('<a@b>');
    const format1 = deflateRawSync(Buffer.concat([Buffer.from([1, 7, 100, 3, 1, 10, SEEN, id.length + 1]), id]));
    expect(decodeWindow(format1)).toEqual({
      uidValidity: 7, since: 100, version: 3, messageIds: true, checkedAt: 0, messages: [{ uid: 10, code: SEEN, keywords: 0, messageId: '<a@b>' }],
    });
    expect(() => decodeWindow(deflateRawSync(Buffer.from([2, 0x80, 7, 100, 3, 0])))).toThrow(/options/);
  });

  it('refuses what is not a window', () => {
    expect(() => decodeWindow(Buffer.from('not deflate at all'))).toThrow();
    const truncated = encodeWindow(window(10, () => '<a@b>')).subarray(0, 5);
    expect(() => decodeWindow(truncated)).toThrow();
  });
});

describe('the cheap look', () => {
  const window = stored([[10, ['\\Seen']], [11, ['\\Seen', '\\Flagged']], [13, ['\\Answered']], [14, []]]);
  const search = { all: [10, 11, 13, 14], unseen: [13, 14], flagged: [11], answered: [13] };

  it('sees the window unchanged when its searches do, whatever their order or repeats, and out-of-window UIDs', () => {
    expect(searchDigest(search, 10)).toBe(windowDigest(window.messages));
    expect(searchDigest({ all: [14, 13, 13, 11, 10, 9, 2], unseen: [14, 13, 9], flagged: [11, 2], answered: [13] }, 10)).toBe(windowDigest(window.messages));
  });

  it('sees a message gone or new, and \\Seen, \\Flagged or \\Answered changed, but not keywords or \\Draft', () => {
    const digest = windowDigest(window.messages);
    expect(searchDigest({ ...search, all: [10, 11, 14] }, 10)).not.toBe(digest);
    expect(searchDigest({ ...search, all: [10, 11, 13, 14, 15], unseen: [13, 14, 15] }, 10)).not.toBe(digest);
    expect(searchDigest({ ...search, unseen: [14] }, 10)).not.toBe(digest);
    expect(searchDigest({ ...search, flagged: [] }, 10)).not.toBe(digest);
    expect(searchDigest({ ...search, answered: [13, 14] }, 10)).not.toBe(digest);
    // Blind to these: the full look every FULL_LOOK_SECONDS finds them.
    const keyword = window.messages.map((m) => (m.uid === 14 ? { ...m, keywords: 17, code: m.code | DRAFT } : m));
    expect(windowDigest(keyword)).toBe(digest);
  });

  it('keeps the summary in the first bytes of the stored value, readable alone', () => {
    const value = encodeWindow({ ...window, checkedAt: 1_800_000_000 });
    expect(decodeSummary(value.subarray(0, 64))).toEqual({
      uidValidity: 7, since: 100, messageIds: true, checkedAt: 1_800_000_000, low: 10, digest: windowDigest(window.messages),
    });
    expect(decodeWindow(value)).toEqual({ ...window, checkedAt: 1_800_000_000 });
    expect(() => decodeSummary(encodeWindow(window).subarray(0, 5))).toThrow();
  });
});
