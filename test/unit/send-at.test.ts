/** sendAt as the domain reads it (validate.ts dueAt): when a message is due, and which times are refused. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/errors.js';
import { dueAt, MAX_SCHEDULE_AHEAD_MS } from '../../src/domain/sending/validate.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function refusal(sendAt: string): { field: string; message: string } {
  try {
    dueAt(sendAt, NOW);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return ((e as ValidationError).fields.errors as { field: string; message: string }[])[0]!;
  }
  throw new Error(`${sendAt} was accepted`);
}

describe('dueAt', () => {
  it('no sendAt, or one not in the future: due now (undefined)', () => {
    expect(dueAt(undefined, NOW)).toBeUndefined();
    expect(dueAt('2026-03-01T12:00:00Z', NOW)).toBeUndefined();
    expect(dueAt('2026-03-01T11:59:59.999Z', NOW)).toBeUndefined();
    expect(dueAt('2020-01-01T00:00:00Z', NOW)).toBeUndefined();
  });

  it('a future time, in any zone, is due at that instant; up to exactly 30 days ahead', () => {
    expect(dueAt('2026-03-01T12:00:00.001Z', NOW)).toBe(NOW + 1);
    expect(dueAt('2026-03-01T14:30:00+02:00', NOW)).toBe(NOW + 30 * 60_000);
    expect(dueAt('2026-03-01t12:00:05z', NOW)).toBe(NOW + 5_000);
    expect(dueAt(new Date(NOW + MAX_SCHEDULE_AHEAD_MS).toISOString(), NOW)).toBe(NOW + MAX_SCHEDULE_AHEAD_MS);
  });

  it('more than 30 days ahead is refused, naming /sendAt and the last time allowed', () => {
    const problem = refusal(new Date(NOW + MAX_SCHEDULE_AHEAD_MS + 1).toISOString());
    expect(problem.field).toBe('/sendAt');
    expect(problem.message).toContain('2026-03-31T12:00:00.000Z');
    expect(refusal('2027-01-01T00:00:00Z').field).toBe('/sendAt');
  });

  it.each([
    'tomorrow', '', '2026-03-01', '2026-03-01T12:00:00', '2026-03-01 12:00:00Z', '1772366400000',
    '2026-02-30T12:00:00Z', '2026-13-01T00:00:00Z', '2026-03-01T24:00:00Z', '2026-03-01T12:60:00Z', '2026-03-01T12:00:00+0200',
  ])('%j is not an RFC 3339 time with a zone', (sendAt) => {
    expect(refusal(sendAt)).toMatchObject({ field: '/sendAt', message: expect.stringContaining('RFC 3339') });
  });
});
