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
});
