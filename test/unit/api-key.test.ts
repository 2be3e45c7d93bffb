import { describe, expect, it } from 'vitest';
import { createApiKeyCheck } from '../../src/http/plugins/api-key.js';

describe('API key check', () => {
  const check = createApiKeyCheck(['first-key-0123456789', 'second-key-0123456789']);

  it('accepts any configured key as a bearer token', () => {
    expect(check('Bearer first-key-0123456789')).toBe(true);
    expect(check('bearer second-key-0123456789')).toBe(true);
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'first-key-0123456789', 'Basic first-key-0123456789',
    'Bearer first-key-012345678', 'Bearer first-key-01234567890', 'Bearer first-key-0123456789 extra'])(
    'refuses %j', (header) => {
      expect(check(header)).toBe(false);
    });

  it('refuses everything when no key is configured', () => {
    expect(createApiKeyCheck([])('Bearer ')).toBe(false);
    expect(createApiKeyCheck([])('Bearer anything-at-all-here')).toBe(false);
  });
});
