/** Whose sign-in a delegated mailbox accepts: its address at the first sign-in, then the same oid and tid. */
import { describe, expect, it } from 'vitest';
import type { VerifiedIdToken } from '../../src/adapters/oidc/id-token-verifier.js';
import { acceptedAccount } from '../../src/domain/oauth/account-match.js';
import type { AppError } from '../../src/errors/errors.js';

const TENANT = '11111111-1111-4111-8111-111111111111';
const OTHER_TENANT = '22222222-2222-4222-8222-222222222222';
const OID = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

const token = (over: Partial<VerifiedIdToken> = {}): VerifiedIdToken => ({
  oid: OID, tid: TENANT, email: null, name: null, preferredUsername: 'support@contoso.example', upn: null, ...over,
});
const fresh = { email: 'support@contoso.example', account: null };
const held = { email: 'support@contoso.example', account: { oid: OID, tenantId: TENANT } };

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('accepted');
}

describe('acceptedAccount', () => {
  it('first sign-in: any name of the token that is the mailbox address (case apart)', () => {
    expect(acceptedAccount(fresh, token({ preferredUsername: 'Support@Contoso.example' }))).toBe('Support@Contoso.example');
    expect(acceptedAccount(fresh, token({ preferredUsername: 'x@contoso.example', email: 'support@contoso.example' }))).toBe('support@contoso.example');
    expect(acceptedAccount(fresh, token({ preferredUsername: null, upn: 'SUPPORT@contoso.example' }))).toBe('SUPPORT@contoso.example');
  });

  it('refuses another address, naming who signed in', () => {
    const err = refusal(() => acceptedAccount(fresh, token({ preferredUsername: 'alice@contoso.example' })));
    expect(err).toMatchObject({ code: 'wrong_account', fields: { signedInAs: 'alice@contoso.example', expected: 'support@contoso.example', reason: 'another_address' } });
  });

  it('renewal: the same oid and tid (ids compared without case)', () => {
    expect(acceptedAccount(held, token({ oid: OID.toUpperCase(), tid: TENANT.toUpperCase() }))).toBe('support@contoso.example');
  });

  it.each([
    ['another oid, same address', token({ oid: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' })],
    ['the same oid in another tenant', token({ tid: OTHER_TENANT })],
    ['another person whose email claim is the address', token({ oid: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', preferredUsername: 'mallory@contoso.example', email: 'support@contoso.example' })],
  ])('renewal refuses %s', (_what, id) => {
    expect(refusal(() => acceptedAccount(held, id))).toMatchObject({ code: 'wrong_account', fields: { reason: 'another_person' } });
  });

  it('a held account without oid or tid (older records) is accepted on the address', () => {
    const legacy = { email: 'support@contoso.example', account: {} };
    expect(acceptedAccount(legacy, token({ oid: 'dddddddd-dddd-4ddd-8ddd-dddddddddddd' }))).toBe('support@contoso.example');
    // Only what is held is compared.
    const oidOnly = { email: 'support@contoso.example', account: { oid: OID } };
    expect(acceptedAccount(oidOnly, token({ tid: OTHER_TENANT }))).toBe('support@contoso.example');
    expect(refusal(() => acceptedAccount(oidOnly, token({ oid: 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee' })))).toMatchObject({ code: 'wrong_account' });
  });
});

describe('acceptedAccount for a shared mailbox worked by an agent (signInAs)', () => {
  const shared = { email: 'helpdesk@contoso.example', signInAs: 'agent@contoso.example', account: null };

  it('accepts the agent, not the shared address', () => {
    expect(acceptedAccount(shared, token({ preferredUsername: 'Agent@contoso.example' }))).toBe('Agent@contoso.example');
  });

  it('refuses the shared address itself and any other account with wrong_account naming the agent', () => {
    for (const name of ['helpdesk@contoso.example', 'support@contoso.example']) {
      const err = refusal(() => acceptedAccount(shared, token({ preferredUsername: name })));
      expect(err.code).toBe('wrong_account');
      expect(err.fields).toMatchObject({ signedInAs: name, expected: 'agent@contoso.example', reason: 'another_address' });
      expect(err.hint).toContain('sign in as agent@contoso.example');
      expect(err.message).toContain('helpdesk@contoso.example');
    }
  });
});
