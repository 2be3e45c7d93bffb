/**
 * Workload identity federation: the client assertion is the token in a file
 * that the platform (Kubernetes' projected service account token) replaces
 * before it expires. The file is read anew for every token request, so a
 * replaced token is used at once; nothing of it is kept or logged.
 *
 * Only a compact JWT (three base64url parts) is sent: a path that names some
 * other file never has its content sent to the identity platform.
 */
import { open } from 'node:fs/promises';
import { federatedTokenUnreadable } from '../../domain/connections/client-credential.js';
import { AppError } from '../../errors/errors.js';

/** Projected tokens are 1 to 2 KB; a file larger than this is not one. */
const MAX_TOKEN_BYTES = 16 * 1024;
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const REASONS: Record<string, string> = {
  ENOENT: 'does not exist',
  EACCES: 'cannot be read (permission denied)',
  EPERM: 'cannot be read (permission denied)',
  EISDIR: 'is a directory',
  ELOOP: 'is a symbolic link loop',
  ENOTDIR: 'is not under a directory',
};

export async function readFederatedToken(path: string): Promise<string> {
  let text: string;
  try {
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(MAX_TOKEN_BYTES + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_TOKEN_BYTES) throw federatedTokenUnreadable(path, `is larger than ${MAX_TOKEN_BYTES} bytes: not a token`);
      text = buffer.subarray(0, bytesRead).toString('utf8').trim();
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code in REASONS) throw federatedTokenUnreadable(path, REASONS[code]!, err);
    throw federatedTokenUnreadable(path, `cannot be read (${typeof code === 'string' ? code : 'error'})`, err);
  }
  if (text === '') throw federatedTokenUnreadable(path, 'is empty');
  if (!COMPACT_JWT.test(text)) throw federatedTokenUnreadable(path, 'does not hold a JWT');
  return text;
}
