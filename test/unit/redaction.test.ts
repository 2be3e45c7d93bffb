import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { scrubText, scrubUrl } from '../../src/logging/redaction.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('log redaction', () => {
  it('removes secret-bearing fields at any depth', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info' }, stream);
    logger.info({
      clientSecret: 'SECRET-1',
      connection: { clientSecret: 'SECRET-2', nested: { accessToken: 'SECRET-3', refresh_token: 'SECRET-4' } },
      headers: { authorization: 'Bearer SECRET-5' },
      password: 'SECRET-6',
      keep: 'visible',
    }, 'event');
    const text = lines.join('');
    expect(text).not.toMatch(/SECRET-/);
    expect(text).toContain('visible');
    expect(text).toContain('[REDACTED]');
  });

  it('scrubs tokens from error messages and stacks', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info' }, stream);
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    logger.error({ err: new Error(`login failed with user=a\x01auth=Bearer ${jwt}`) }, 'failed');
    expect(lines.join('')).not.toContain(jwt);
  });

  it('scrubs secret query parameters from URLs', () => {
    expect(scrubUrl('/v1/oauth/callback?code=abc&state=xyz&x=1')).toBe(
      '/v1/oauth/callback?code=%5BREDACTED%5D&state=%5BREDACTED%5D&x=1',
    );
    expect(scrubUrl('/v1/connections')).toBe('/v1/connections');
  });

  it('scrubs bare JWTs from text', () => {
    expect(scrubText('token eyJabcdef.eyJabcdef.sig here')).toBe('token [REDACTED] here');
  });
});
