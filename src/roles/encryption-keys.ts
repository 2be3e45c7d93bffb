/**
 * Readiness of the encryption keys: do stored records need a key this
 * service does not have? That happens when ENCRYPTION_KEY is changed without
 * putting the old key in ENCRYPTION_KEY_PREVIOUS, or when two instances run
 * with different keys. Redis answers and the workers run, so every other
 * check passes, while every poll, send and verify of those records fails with
 * decryption_failed: this check makes /health/ready say so (503,
 * `encryption-keys`), and the log names the key id and the fix once.
 *
 * When it looks (stored-key-ids.ts reads a bounded sample): at start
 * (startService awaits `scan()`), then when a probe asks, at most every
 * `intervalMs` while all is well and at every probe while it fails. So the
 * fix (the old key in ENCRYPTION_KEY_PREVIOUS, then a restart) clears it at
 * start, and deleting or re-writing the records clears it at the next probe.
 * Only key ids are logged or shown, never a key.
 */
import type { ReadinessCheck } from './readiness-check.js';
import type { Logger } from '../logging/logger.js';
import type { KeyIdCounts } from '../store/stored-key-ids.js';

export interface EncryptionKeyCheckOptions {
  /** The key ids of a sample of the stored values (storedKeyIds). */
  sample: () => Promise<KeyIdCounts>;
  /** Whether the service holds the key with this id (Cipher.hasKey). */
  hasKey: (keyId: string) => boolean;
  /** ENCRYPTION_KEY's id, for the log. */
  currentKeyId: string;
  logger: Logger;
  /** How long a clean result is trusted before a probe looks again (ms). @defaultValue 60 000 */
  intervalMs?: number;
  now?: () => number;
}

export type KeyFinding = { ok: true } | { ok: false; detail: string; missing: string[] };

export interface EncryptionKeyCheck {
  readiness: ReadinessCheck;
  /** Looks at the stored records now (one look at a time); logs each missing key id once per process. */
  scan(): Promise<KeyFinding>;
}

export function encryptionKeyCheck(options: EncryptionKeyCheckOptions): EncryptionKeyCheck {
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  const logged = new Set<string>();
  let last: { finding: KeyFinding; at: number } | undefined;
  let inflight: Promise<KeyFinding> | undefined;

  const look = async (): Promise<KeyFinding> => {
    const counts = await options.sample();
    const missing = [...counts.keys()].filter((id) => !options.hasKey(id)).sort();
    for (const keyId of missing) {
      if (logged.has(keyId)) continue;
      logged.add(keyId);
      options.logger.error(
        { keyId, values: counts.get(keyId), currentKeyId: options.currentKeyId },
        'stored secrets were written with an encryption key this service does not have: set ENCRYPTION_KEY_PREVIOUS to the key with this keyId and restart',
      );
    }
    if (missing.length === 0 && last?.finding.ok === false) options.logger.info('stored secrets are readable with the configured encryption keys again');
    const finding: KeyFinding = missing.length === 0
      ? { ok: true }
      : {
          ok: false,
          missing,
          detail: `stored secrets were written with the key id ${missing.join(', ')}, which this service does not have: set ENCRYPTION_KEY_PREVIOUS to that key`,
        };
    last = { finding, at: now() };
    return finding;
  };

  const scan = (): Promise<KeyFinding> => {
    inflight ??= look().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  return {
    scan,
    readiness: {
      name: 'encryption-keys',
      check: async () => {
        const fresh = last !== undefined && last.finding.ok && now() - last.at < intervalMs;
        let finding: KeyFinding;
        try {
          finding = fresh ? last!.finding : await scan();
        } catch {
          // Redis cannot be read: the redis check says so; this one keeps what it last saw.
          finding = last?.finding ?? { ok: true };
        }
        return finding.ok ? { ok: true } : { ok: false, detail: finding.detail };
      },
    },
  };
}
