/** What a token failure does to a mailbox's state and lastError. */
import { describe, expect, it } from 'vitest';
import { aadstsError } from '../../src/domain/tokens/aadsts.js';
import { recordTokenFailure } from '../../src/domain/mailboxes/token-failure.js';
import type { MailboxRecord } from '../../src/domain/mailboxes/service.js';
import type { MailboxStateT } from '../../src/domain/mailboxes/model.js';
import { AppError } from '../../src/errors/errors.js';

function store(state: MailboxStateT) {
  let record = { id: 'mbx_x', state, lastError: null } as unknown as MailboxRecord;
  return {
    change: async (_id: string, change: (current: MailboxRecord) => MailboxRecord) => (record = change(record)),
    get: () => record,
  };
}

const at = new Date('2026-11-26T10:00:00Z');

describe('recordTokenFailure', () => {
  it('a revoked grant: auth_error, with the hint to renew and the setup step', async () => {
    const s = store('active');
    const updated = await recordTokenFailure(s, 'mbx_x', aadstsError(50173, 'AADSTS50173: The provided grant has expired due to it being revoked.'), at);
    expect(updated.state).toBe('auth_error');
    expect(updated.lastError).toEqual({
      code: 'grant_revoked',
      detail: 'AADSTS50173: The provided grant has expired due to it being revoked.',
      hint: expect.stringContaining('Renew OAuth connection'),
      setupStep: 'user_sign_in',
      at: '2026-11-26T10:00:00.000Z',
    });
  });

  it('an outage of the identity platform: recorded, state kept (it is retried)', async () => {
    const s = store('active');
    const updated = await recordTokenFailure(s, 'mbx_x', new AppError('identity_platform_unreachable', 'Cannot reach login.microsoftonline.com (ECONNREFUSED).'), at);
    expect(updated.state).toBe('active');
    expect(updated.lastError).toMatchObject({ code: 'identity_platform_unreachable' });
  });

  it('keeps paused and pending_authorization mailboxes in their state', async () => {
    for (const state of ['paused', 'pending_authorization'] as const) {
      const updated = await recordTokenFailure(store(state), 'mbx_x', aadstsError(700082, undefined), at);
      expect(updated.state).toBe(state);
      expect(updated.lastError?.code).toBe('refresh_token_expired');
    }
  });

  it('an unexpected error shows no internals', async () => {
    const updated = await recordTokenFailure(store('active'), 'mbx_x', new Error('socket hang up at 10.0.0.3'), at);
    expect(updated.lastError?.code).toBe('internal');
    expect(updated.lastError?.detail).not.toContain('10.0.0.3');
  });
});
