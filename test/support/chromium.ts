/**
 * Headless Chromium for browser tests: the Debian package at /usr/bin/chromium.
 * When it is missing the helper installs it the way CI does
 * (scripts/ensure-deps.sh chromium, root only). A test may skip only when it
 * is absent and cannot be installed, and never in CI (CI=true): there a
 * missing browser is a failure.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, self-contained headless run (no network chatter of its own). */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

async function present(): Promise<boolean> {
  return access(CHROMIUM_PATH, constants.X_OK).then(() => true, () => false);
}

export type ChromiumCheck = { ok: true } | { ok: false; reason: string };

export async function ensureChromium(): Promise<ChromiumCheck> {
  if (await present()) return { ok: true };
  let why = 'not installed';
  try {
    await promisify(execFile)('bash', ['scripts/ensure-deps.sh', 'chromium'], { timeout: 600_000 });
  } catch (err) {
    why = `not installable here (${(err as { stderr?: string }).stderr?.trim() || (err as Error).message})`;
  }
  if (await present()) return { ok: true };
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM_PATH} is required in CI and ${why}`);
  return { ok: false, reason: `${CHROMIUM_PATH} is ${why}: run \`bash scripts/ensure-deps.sh chromium\` as root` };
}

/**
 * The flag that makes Chromium trust exactly one server key (the sandbox's),
 * instead of ignoring every certificate error: base64 SHA-256 of the SPKI.
 * Chromium honours it because Playwright runs it with its own --user-data-dir.
 */
export function trustSpkiFlag(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`;
}
