import { Writable } from 'node:stream';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { isSecretField, redactFields, scrubText, scrubUrl } from '../../src/logging/redaction.js';

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

  it('redacts deeper than any fixed path list, whatever the spelling of the name', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info' }, stream);
    logger.info({
      a: { b: { c: { d: { e: { f: { client_secret: 'SECRET-7' } } } } } },
      list: [{ Authorization: 'Bearer SECRET-8' }, { 'X-Api-Key': 'SECRET-9' }, 'plain'],
      REFRESH_TOKEN: 'SECRET-10',
    }, 'deep');
    const text = lines.join('');
    expect(text).not.toMatch(/SECRET-/);
    expect(JSON.parse(text).list[2]).toBe('plain');
  });

  it('redacts a child logger\'s bindings and an error\'s own fields', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info' }, stream).child({ mailboxId: 'mbx_1', token: 'SECRET-11' });
    const err = Object.assign(new Error('refused'), { response: { headers: { authorization: 'Bearer SECRET-12' } }, accessToken: 'SECRET-13' });
    logger.error({ err, cause: { error: err } }, 'failed');
    const text = lines.join('');
    expect(text).not.toMatch(/SECRET-/);
    const entry = JSON.parse(text);
    expect(entry.mailboxId).toBe('mbx_1');
    expect(entry.err.message).toBe('refused');
    expect(entry.err.response.headers.authorization).toBe('[REDACTED]');
  });

  it('redacts an `err` that is not an Error, and a `req` logged as a plain object keeps only safe fields', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info' }, stream);
    logger.warn({ err: { message: 'refused', response: { access_token: 'SECRET-16' } } }, 'odd error');
    logger.info({ req: { id: 'r1', method: 'GET', url: '/v1/oauth/callback?code=SECRET-17', headers: { authorization: 'Bearer SECRET-18' } } }, 'request');
    const text = lines.join('');
    expect(text).not.toMatch(/SECRET-/);
    expect(text).toContain('refused');
  });

  it('survives cycles and very deep values, and leaves the caller\'s objects untouched', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info' }, stream);
    const cyclic: Record<string, unknown> = { name: 'loop', password: 'SECRET-14' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { secret: 'SECRET-15' };
    for (let i = 0; i < 50; i++) deep = { next: deep };
    logger.info({ cyclic, deep }, 'odd shapes');
    const text = lines.join('');
    expect(text).not.toMatch(/SECRET-/);
    expect(text).toContain('[Circular]');
    expect(text).toContain('[Truncated]');
    expect(cyclic.password).toBe('SECRET-14');
  });

  it('copies nothing when there is nothing to redact', () => {
    const entry = { a: { b: [1, 2, { c: 'x' }] }, when: new Date(0), bytes: Buffer.from('token=abc') };
    expect(redactFields(entry)).toBe(entry);
    const changed = redactFields({ keep: entry.a, drop: { secret: 'x' } }) as Record<string, Record<string, unknown>>;
    expect(changed.keep).toBe(entry.a);
    expect(changed.drop!.secret).toBe('[REDACTED]');
  });

  it('knows secret names in any case and with - or _', () => {
    for (const name of ['clientSecret', 'client_secret', 'CLIENT-SECRET', 'access_token', 'Set-Cookie', 'x-api-key', 'codeVerifier']) {
      expect(isSecretField(name), name).toBe(true);
    }
    for (const name of ['tokenType', 'expiresIn', 'mailboxId', 'passage', 'subject']) expect(isSecretField(name), name).toBe(false);
  });

  it('logs the name of a failed Redis command, never its arguments (records, encrypted messages), nested errors too', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info' }, stream);
    const refused = Object.assign(new ReplyError("OOM command not allowed when used memory > 'maxmemory'.") as Error, {
      command: { name: 'mset', args: ['{p:snd}:send:snd_x:content', 'ms1.ENCRYPTED-CONTENT'] },
    });
    const aborted = Object.assign(new ReplyError('EXECABORT Transaction discarded because of previous errors.') as Error, {
      command: { name: 'exec', args: [] }, previousErrors: [refused],
    });
    logger.error({ err: aborted }, 'request failed');
    logger.warn({ err: Object.assign(new Error('x'), { command: { name: 'set', args: ['k', '{"email":"alice@contoso.example"}'] } }) }, 'other');
    const [first, second] = lines.map((line) => JSON.parse(line) as { err: { command: unknown; previousErrors: { command: unknown }[] } });
    expect(first!.err.command).toEqual({ name: 'exec' });
    expect(first!.err.previousErrors[0]!.command).toEqual({ name: 'mset' });
    expect(second!.err.command).toEqual({ name: 'set' });
    expect(lines.join('')).not.toMatch(/ENCRYPTED-CONTENT|alice@|snd_x/);
    expect(lines.join('')).toContain('OOM command not allowed');
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
