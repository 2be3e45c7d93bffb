/**
 * The encryption-keys readiness check (roles/encryption-keys.ts): it fails
 * naming a missing key id, logs that id once per process however often it is
 * asked, looks again at every probe while it fails (so deleting the records
 * clears it at once), and trusts a clean look for its interval.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { encryptionKeyCheck } from '../../src/roles/encryption-keys.js';
import { captureLogs } from '../support/logs.js';

function setup(stored: Map<string, number>, now: { t: number }) {
  const logs = captureLogs();
  let looks = 0;
  const check = encryptionKeyCheck({
    sample: async () => {
      looks += 1;
      return new Map(stored);
    },
    hasKey: (id) => id === 'current0000',
    currentKeyId: 'current0000',
    logger: createLogger({ level: 'info' }, logs.stream),
    intervalMs: 60_000,
    now: () => now.t,
  });
  return { check, logs, looks: () => looks };
}

describe('the encryption-keys readiness check', () => {
  it('fails naming the missing key id, logs it once, and clears at the next probe once the records are gone', async () => {
    const stored = new Map([['current0000', 3], ['lostkey0000', 2]]);
    const now = { t: 0 };
    const { check, logs, looks } = setup(stored, now);
    expect(await check.scan()).toMatchObject({ ok: false, missing: ['lostkey0000'] });
    for (let i = 0; i < 3; i++) {
      const result = await check.readiness.check();
      expect(result.ok).toBe(false);
      expect(result.detail).toContain('lostkey0000');
      expect(result.detail).toContain('ENCRYPTION_KEY_PREVIOUS');
    }
    // Looked again at every probe while failing, logged once.
    expect(looks()).toBe(4);
    const errors = logs.records().filter((r) => r.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ keyId: 'lostkey0000', values: 2, currentKeyId: 'current0000' });

    stored.delete('lostkey0000');
    expect(await check.readiness.check()).toEqual({ ok: true });
  });

  it('trusts a clean look for its interval, then looks again', async () => {
    const stored = new Map([['current0000', 1]]);
    const now = { t: 0 };
    const { check, looks } = setup(stored, now);
    expect(await check.readiness.check()).toEqual({ ok: true });
    now.t = 59_999;
    expect(await check.readiness.check()).toEqual({ ok: true });
    expect(looks()).toBe(1);
    stored.set('otherkey000', 1);
    now.t = 60_000;
    expect((await check.readiness.check()).ok).toBe(false);
    expect(looks()).toBe(2);
  });

  it('keeps its last finding when the records cannot be read (the redis check reports that)', async () => {
    const logs = captureLogs();
    const check = encryptionKeyCheck({
      sample: async () => {
        throw new Error('Connection is closed.');
      },
      hasKey: () => true,
      currentKeyId: 'current0000',
      logger: createLogger({ level: 'info' }, logs.stream),
    });
    expect(await check.readiness.check()).toEqual({ ok: true });
  });
});
