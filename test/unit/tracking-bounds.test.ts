/** What the poll's IMAP session keeps of a hostile FLAGS or Message-ID answer (issue 16). */
import { describe, expect, it } from 'vitest';
import { boundedFlags, messageIdOf } from '../../src/adapters/imap/poll-session.js';

describe('tracked window bounds', () => {
  it('keeps at most 50 flags of at most 100 characters, without \\Recent', () => {
    const many = ['\\Seen', '\\Recent', 'x'.repeat(101), ...Array.from({ length: 5000 }, (_, i) => `kw${i}`)];
    const kept = boundedFlags(new Set(many));
    expect(kept).toHaveLength(50);
    expect(kept[0]).toBe('\\Seen');
    expect(kept).not.toContain('\\Recent');
    expect(kept.every((f) => f.length <= 100)).toBe(true);
    expect(boundedFlags([1, null, '', '\\Flagged'] as unknown[])).toEqual(['\\Flagged']);
  });

  it('reads a Message-ID header, folded or not, and none when absent or longer than 255 characters', () => {
    expect(messageIdOf(Buffer.from('Message-ID: <a@b.example>\r\n\r\n'))).toBe('<a@b.example>');
    expect(messageIdOf(Buffer.from('message-id:\r\n <folded@b.example>\r\n\r\n'))).toBe('<folded@b.example>');
    expect(messageIdOf(Buffer.from('\r\n'))).toBeNull();
    expect(messageIdOf(undefined)).toBeNull();
    expect(messageIdOf(Buffer.from(`Message-ID: <${'x'.repeat(300)}@b>\r\n\r\n`))).toBeNull();
  });
});
