import { describe, expect, it } from 'vitest';
import { API_KEY_SCOPES, parseApiKey } from '../../src/config/api-keys.js';
import { EnvValueError } from '../../src/config/env-spec.js';
import { createApiKeyCheck } from '../../src/http/plugins/api-key.js';

describe('API key check', () => {
  const keys = [parseApiKey('first-key-0123456789'), parseApiKey('send+read:second-key-0123456789')];
  const check = createApiKeyCheck(keys);

  it('accepts any configured key as a bearer token, and answers which one', () => {
    expect(check('Bearer first-key-0123456789')).toBe(keys[0]);
    expect(check('bearer second-key-0123456789')).toBe(keys[1]);
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'first-key-0123456789', 'Basic first-key-0123456789',
    'Bearer first-key-012345678', 'Bearer first-key-01234567890', 'Bearer first-key-0123456789 extra',
    'Bearer send+read:second-key-0123456789'])(
    'refuses %j', (header) => {
      expect(check(header)).toBeUndefined();
    });

  it('refuses everything when no key is configured', () => {
    expect(createApiKeyCheck([])('Bearer ')).toBeUndefined();
    expect(createApiKeyCheck([])('Bearer anything-at-all-here')).toBeUndefined();
  });
});

describe('API_KEYS entries', () => {
  it('give a plain key every scope', () => {
    expect(parseApiKey('k'.repeat(24))).toEqual({ key: 'k'.repeat(24), scopes: new Set(API_KEY_SCOPES) });
    // Base64 and hex keys never hold a colon; a key whose text before one is not a scope list stays whole.
    expect(parseApiKey('Abc:def-0123456789').key).toBe('Abc:def-0123456789');
    expect(parseApiKey('x1:def-0123456789').key).toBe('x1:def-0123456789');
  });

  it('limit a key to the scopes before its first colon', () => {
    expect(parseApiKey('send:abc:def')).toEqual({ key: 'abc:def', scopes: new Set(['send']) });
    expect(parseApiKey('read+login+metrics:key')).toEqual({ key: 'key', scopes: new Set(['read', 'login', 'metrics']) });
  });

  it('refuse an unknown scope, so that a typo never widens a key', () => {
    expect(() => parseApiKey('sned:key-0123456789')).toThrow(EnvValueError);
    expect(() => parseApiKey('send+everything:key-0123456789')).toThrow(/unknown scope "everything"/);
  });
});
