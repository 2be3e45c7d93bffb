import { describe, expect, it } from 'vitest';
import { resolveFolder } from '../../src/domain/mailboxes/folders.js';

const listed = [
  { path: 'INBOX', specialUse: '\\Inbox' },
  { path: 'Gesendete Elemente', specialUse: '\\Sent' },
  { path: 'Archive/2024' },
  { path: 'Junk-E-Mail', specialUse: '\\Junk' },
];

describe('resolveFolder', () => {
  it('resolves a special use through LIST, whatever the localised name', () => {
    expect(resolveFolder(listed, '\\Sent')?.path).toBe('Gesendete Elemente');
    expect(resolveFolder(listed, '\\junk')?.path).toBe('Junk-E-Mail');
    expect(resolveFolder(listed, '\\Archive')).toBeUndefined();
  });

  it('matches INBOX case-insensitively, other paths exactly first', () => {
    expect(resolveFolder(listed, 'inbox')?.path).toBe('INBOX');
    expect(resolveFolder(listed, 'Archive/2024')?.path).toBe('Archive/2024');
    expect(resolveFolder(listed, 'archive/2024')?.path).toBe('Archive/2024');
    expect(resolveFolder(listed, 'Archive')).toBeUndefined();
  });
});
