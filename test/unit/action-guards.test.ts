/** The pure pieces of acting on mail: UID sets, the COPYUID guard, folder path checks. */
import { describe, expect, it } from 'vitest';
import { uidSet } from '../../src/adapters/imap/action-session.js';
import { dropBadCopyUid, uidSetSize } from '../../src/adapters/imap/response-guards.js';
import { folderLevels } from '../../src/domain/messages/folder-path.js';

const copyUid = (validity: string, source: string, target: string) => ({
  attributes: [{ section: [{ value: 'COPYUID' }, { value: validity }, { value: source }, { value: target }] }],
});

describe('uidSet', () => {
  it('packs sorted unique UIDs into ranges', () => {
    expect(uidSet([5, 1, 2, 3, 3, 9, 10, 7])).toBe('1:3,5,7,9:10');
    expect(uidSet([42])).toBe('42');
  });
});

describe('uidSetSize', () => {
  it('counts without expanding, and refuses malformed or oversized sets', () => {
    expect(uidSetSize('1:3,5,9:7', 1000)).toBe(7);
    expect(uidSetSize('1:4000000000', 1000)).toBeUndefined();
    for (const bad of ['', 'abc', '1:', ':2', '1,,2', '0', '4294967296', '1:x', ' 1', 7, undefined, '9'.repeat(30)]) {
      expect(uidSetSize(bad, 1000), String(bad)).toBeUndefined();
    }
    expect(uidSetSize(Array.from({ length: 1001 }, (_, i) => i * 2 + 1).join(','), 1000)).toBeUndefined();
  });
});

describe('dropBadCopyUid', () => {
  it('keeps a well-formed code and removes a malformed, unequal or oversized one', () => {
    const good = copyUid('7', '1:2,5', '10:12');
    expect(dropBadCopyUid(good, 1000)).toBe(true);
    expect(good.attributes[0]!.section).toHaveLength(4);
    for (const bad of [copyUid('7', '1:2', '10'), copyUid('x', '1', '2'), copyUid('7', '1:4000000000', '1:4000000000'), copyUid('7', '1', '99999999999')]) {
      expect(dropBadCopyUid(bad, 1000)).toBe(false);
      expect(bad.attributes[0]!.section).toEqual([]);
    }
    expect(dropBadCopyUid({ attributes: [{ section: [{ value: 'APPENDUID' }] }] }, 1000)).toBeUndefined();
    expect(dropBadCopyUid(undefined, 1000)).toBeUndefined();
  });
});

describe('folderLevels', () => {
  it('splits a valid path and refuses the rest', () => {
    expect(folderLevels('Processed/2026')).toEqual(['Processed', '2026']);
    expect(folderLevels('Réglé/日本語 ✓')).toEqual(['Réglé', '日本語 ✓']);
    for (const bad of ['/a', 'a/', 'a//b', 'a\u0007', 'a\u2028b', 'x*', '%', '\\Sent', ' a', 'a ', '..', 'a/./b', 'é'.repeat(256)]) {
      expect(() => folderLevels(bad), JSON.stringify(bad)).toThrow(/folder path/);
    }
    expect(folderLevels('é'.repeat(255))).toHaveLength(1);
  });
});
