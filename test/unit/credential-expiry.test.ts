/** The thresholds of credential expiry warnings, by a fixed clock; and the expiry a secret is given. */
import { describe, expect, it } from 'vitest';
import { crossedThreshold, daysLeft, expiryEventId } from '../../src/domain/connections/credential-expiry.js';
import { readExpiresAt } from '../../src/domain/connections/credential-input.js';

const DAY = 86_400_000;
const expires = Date.parse('2027-06-01T00:00:00Z');

describe('credential expiry thresholds', () => {
  it('crosses 30, 7, 1 and 0 days as the clock moves on, the most urgent one crossed counting', () => {
    const at = (msBefore: number) => crossedThreshold(expires, expires - msBefore);
    expect(at(31 * DAY)).toBeUndefined();
    expect(at(30 * DAY + 1)).toBeUndefined();
    expect(at(30 * DAY)).toBe(30);
    expect(at(8 * DAY)).toBe(30);
    expect(at(7 * DAY)).toBe(7);
    expect(at(5 * DAY)).toBe(7);
    expect(at(DAY)).toBe(1);
    expect(at(1)).toBe(1);
    expect(at(0)).toBe(0);
    expect(at(-400 * DAY)).toBe(0);
  });

  it('counts whole days left, 0 once expired', () => {
    expect(daysLeft(expires, expires - 5 * DAY + 1)).toBe(4);
    expect(daysLeft(expires, expires - 30 * DAY)).toBe(30);
    expect(daysLeft(expires, expires + DAY)).toBe(0);
  });

  it('names each warning by connection, threshold and expiry', () => {
    const id = expiryEventId('con_a', 7, expires);
    expect(id).toMatch(/^evt_exp_[A-Za-z0-9_-]{32}$/);
    expect(expiryEventId('con_a', 7, expires)).toBe(id);
    expect(expiryEventId('con_a', 1, expires)).not.toBe(id);
    expect(expiryEventId('con_a', 7, expires + 1)).not.toBe(id);
  });
});

describe("a secret's expiry as given", () => {
  it('reads RFC 3339 with a time zone, as UTC', () => {
    expect(readExpiresAt('2027-05-31T00:00:00Z').expiresAt).toBe('2027-05-31T00:00:00.000Z');
    expect(readExpiresAt('2027-05-31t02:00:00.5+02:00').expiresAt).toBe('2027-05-31T00:00:00.500Z');
  });

  it('refuses what is not one moment', () => {
    for (const value of ['', '2027-05-31', '2027-05-31T00:00:00', '2027-13-01T00:00:00Z', '2027-02-30T00:00:00Z', '1999-12-31T00:00:00Z', ' 2027-05-31T00:00:00Z', '+0202705-31T00:00:00Z']) {
      expect(readExpiresAt(value).problem?.field, value).toBe('/credentialExpiresAt');
    }
  });
});
