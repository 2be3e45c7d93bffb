/**
 * Random bytes for the hot paths (ids, GCM IVs), drawn from a pool that is
 * filled from the CSPRNG 4 KiB at a time, as Node's own randomUUID does.
 * `crypto.randomBytes` costs a trip into OpenSSL for every 12 bytes, about
 * a tenth of the CPU of accepting a message before this pool.
 *
 * Every byte is handed out once: the pool is refilled before any byte is
 * reused, so two IVs or two ids never share bytes. The bytes returned are a
 * copy; a caller may keep or change them.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4_096;

const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

/** `size` bytes from the CSPRNG (at most the pool's size; larger requests go to the CSPRNG directly). */
export function randomBytesFast(size: number): Buffer {
  if (isLarge(size)) return randomFillSync(Buffer.allocUnsafe(size));
  const start = take(size);
  return Buffer.from(pool.subarray(start, start + size));
}

/** `size` random bytes as base64url text. */
export function randomToken(size: number): string {
  if (isLarge(size)) return randomFillSync(Buffer.allocUnsafe(size)).toString('base64url');
  const start = take(size);
  return pool.toString('base64url', start, start + size);
}

function isLarge(size: number): boolean {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
  return size > POOL_BYTES / 4;
}

/** Reserves `size` unused bytes of the pool (refilling it first when too few are left); answers where they start. */
function take(size: number): number {
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += size;
  return start;
}
