import { describe, expect, it } from 'vitest';
import { authorityOf, validateCreate } from '../../src/domain/connections/validate.js';
import { toView, type ConnectionRecord } from '../../src/domain/connections/service.js';
import { ValidationError } from '../../src/errors/errors.js';
import type { CreateConnectionInput } from '../../src/domain/connections/model.js';

const good: CreateConnectionInput = {
  name: 'Contoso',
  flow: 'app_only',
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'abc8Q~0123456789abcdefghijklmnopqrstuv',
};

function problem(input: Partial<CreateConnectionInput>): ValidationError {
  try {
    validateCreate({ ...good, ...input });
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('connection rules from the setup guide', () => {
  it('accepts a well-formed app-only registration', () => {
    expect(() => validateCreate(good)).not.toThrow();
  });

  it('takes an app-only connection without a tenant (or with organizations) as multi-tenant: its mailboxes name theirs', () => {
    expect(() => validateCreate({ ...good, tenantId: null })).not.toThrow();
    expect(() => validateCreate({ ...good, tenantId: 'organizations' })).not.toThrow();
    expect(problem({ tenantId: 'common' }).detail).toMatch(/not "common"/);
  });

  it('lets a multi-tenant delegated app leave the tenant empty', () => {
    expect(() => validateCreate({ ...good, flow: 'delegated', tenantId: '' })).not.toThrow();
  });

  it.each([
    [{ clientSecret: '8a7b6c5d-1111-2222-3333-444455556666' }, /Secret ID/, /Value column/],
    [{ clientSecret: ' abc8Q~0123456789abcdefghij ' }, /whitespace/, /without spaces/],
    [{ clientSecret: '"abc8Q~0123456789abcdefghij"' }, /quotes/, /without the surrounding quotes/],
    [{ clientId: 'my-app' }, /GUID/, /Application \(client\) ID/],
    [{ flow: 'delegated' as const, tenantId: 'organizations' }, /not "organizations"/, /Leave tenantId empty/],
    [{ tenantId: 'not a tenant' }, /GUID or a verified domain/, /Directory \(tenant\) ID/],
  ])('catches %j with a hint', (input, detail, hint) => {
    const err = problem(input);
    expect(err.detail).toMatch(detail);
    expect(err.hint).toMatch(hint);
  });

  it('accepts a verified domain as tenant', () => {
    expect(() => validateCreate({ ...good, tenantId: 'contoso.onmicrosoft.com' })).not.toThrow();
  });

  it('requires an https origin as authority host', () => {
    expect(problem({ authorityHost: 'http://login.microsoftonline.com' }).detail).toMatch(/https origin/);
    expect(problem({ authorityHost: 'https://login.microsoftonline.com/tenant' }).detail).toMatch(/https origin/);
  });

  it('derives the authority', () => {
    const host = 'https://login.microsoftonline.us';
    expect(authorityOf({ authorityHost: host, tenantId: 'contoso.com' })).toBe(`${host}/contoso.com`);
    expect(authorityOf({ authorityHost: host, tenantId: null })).toBe(`${host}/organizations`);
    expect(authorityOf({ authorityHost: host, tenantId: null, personalAccounts: true })).toBe(`${host}/common`);
  });
});

describe('the connection view', () => {
  const record = {
    id: 'con_1', name: 'n', flow: 'app_only' as const, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: '11111111-2222-3333-4444-555555555555',
    authorityHost: 'https://login.microsoftonline.com', clientSecretHint: 'abcd', secretUpdatedAt: '2026-01-01T00:00:00.000Z',
    createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
  };

  it('gives the last 4 characters of the secret as its hint, also for records stored with an ellipsis in front', () => {
    expect(toView(record as ConnectionRecord).clientSecretHint).toBe('abcd');
    expect(toView({ ...record, clientSecretHint: '…abcd' } as ConnectionRecord).clientSecretHint).toBe('abcd');
  });
});
