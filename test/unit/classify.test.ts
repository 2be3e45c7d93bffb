import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/errors/classify.js';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../src/errors/errors.js';

describe('classify', () => {
  it('gives every code a status, and 4xx codes are not retryable, except 429 (later, it is)', () => {
    for (const code of ERROR_CODES) {
      const c = classify(new AppError(code, 'x'));
      expect(c.status).toBeGreaterThanOrEqual(400);
      if (c.status < 500) expect(c.retryable, code).toBe(c.status === 429);
    }
    expect(classify(new AppError('rate_limited', 'x')).status).toBe(429);
  });

  it('maps the domain errors', () => {
    expect(classify(new ValidationError('bad', [])).status).toBe(400);
    expect(classify(new NotFoundError('Connection', 'con_x')).status).toBe(404);
    expect(classify(new ConflictError('used')).status).toBe(409);
  });

  it('hides the internals of unexpected errors', () => {
    const c = classify(new Error('SELECT * FROM secrets at /srv/app.js:12'));
    expect(c.status).toBe(500);
    expect(c.code).toBe('internal');
    expect(c.detail).not.toContain('secrets');
  });

  it('recognises an unreachable Redis as a retryable 503', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    expect(classify(err)).toMatchObject({ status: 503, code: 'dependency_unavailable', retryable: true });
    const gaveUp = Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' });
    expect(classify(gaveUp).status).toBe(503);
  });

  describe('Redis at its maxmemory', () => {
    const OOM = "OOM command not allowed when used memory > 'maxmemory'.";
    const reply = (message: string): Error => new ReplyError(message) as Error;

    it('is a retryable 503 storage_full with Retry-After and a hint, however ioredis wraps it, and only from Redis', () => {
      const execAbort = Object.assign(reply('EXECABORT Transaction discarded because of previous errors.'), { previousErrors: [reply(OOM)] });
      const shapes = [
        reply(OOM),
        // From a Lua script (Redis 7), and as Redis 6 words it.
        reply(`${OOM} script: 5ab432e88830d573e2fa33392ffbd4ad25a9b100, on @user_script:589.`),
        reply(`ERR Error running script (call to f_5ab4): @user_script:3: -${OOM}`),
        // A MULTI whose queued write was refused: EXEC aborts, naming the refusal among its previous errors.
        execAbort,
        new Error('the accept transaction failed', { cause: execAbort }),
        new AggregateError([new Error('other'), reply(OOM)]),
      ];
      for (const err of shapes) {
        const c = classify(err);
        expect(c, err.message).toMatchObject({ status: 503, code: 'storage_full', retryable: true, retryAfterSeconds: 30 });
        expect(c.hint).toMatch(/maxmemory/);
        expect(c.detail).not.toContain('OOM');
      }
      // Only in Redis replies: the same words from elsewhere, or other aborted transactions, are not.
      expect(classify(new Error(OOM)).code).toBe('internal');
      expect(classify(Object.assign(reply('EXECABORT Transaction discarded because of previous errors.'), { previousErrors: [reply('WRONGTYPE Operation against a key holding the wrong kind of value')] })).code).toBe('internal');
      expect(classify(new AppError('imap_error', OOM)).code).toBe('imap_error');
      expect(classify(new AppError('internal', 'x')).retryAfterSeconds).toBeUndefined();
    });
  });
});
