/** The browser pages say one fixed sentence per error code, never the error's detail (which may be a link's error_description). */
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/errors/classify.js';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { AppError } from '../../src/errors/errors.js';
import { errorPage } from '../../src/http/pages/oauth-outcome.js';
import { renderPage } from '../../src/http/pages/oauth-page.js';
import { pageSentence } from '../../src/http/pages/page-sentences.js';

const ATTACKER = 'Call 555-0100 now';

describe('pageSentence', () => {
  it('gives every code a sentence of its own words, whatever the detail says', () => {
    for (const code of ERROR_CODES) {
      const sentence = pageSentence(classify(new AppError(code, ATTACKER, { fields: { aadstsCode: 50011 } })));
      expect(sentence, code).not.toContain('555');
      expect(sentence, code).toMatch(/\.$/);
      expect(sentence, code).toBe(pageSentence(classify(new AppError(code, 'something else', { fields: { aadstsCode: 50011 } }))));
    }
  });

  it('adds an AADSTS code, as a number only', () => {
    expect(pageSentence(classify(new AppError('invalid_client_secret', ATTACKER, { fields: { aadstsCode: 7000215 } }))))
      .toBe("Microsoft refused the app's client secret (AADSTS7000215).");
    expect(pageSentence(classify(new AppError('identity_platform_error', ATTACKER, { fields: { aadstsCode: '1 <b>' } }))))
      .toBe('Microsoft refused the sign-in.');
    expect(pageSentence(classify(new AppError('oauth_state_invalid', ATTACKER, { fields: { aadstsCode: 1 } })))).not.toContain('AADSTS');
  });

  it('names the accounts of a wrong_account refusal (the verified token and the mailbox), bounded', () => {
    const fields = { signedInAs: 'alice@contoso.example', expected: 'support@contoso.example' };
    expect(pageSentence(classify(new AppError('wrong_account', ATTACKER, { fields }))))
      .toBe('You signed in as alice@contoso.example, but this mailbox is support@contoso.example. Nothing was changed.');
    expect(pageSentence(classify(new AppError('wrong_account', ATTACKER, { fields: { ...fields, reason: 'another_person' } }))))
      .toMatch(/^You signed in as alice@contoso\.example, but that is not the account this mailbox was first connected with/);
    expect(pageSentence(classify(new AppError('wrong_account', ATTACKER, { fields: { signedInAs: 'x'.repeat(300) } })))).not.toContain('x'.repeat(300));
  });

  it('the rendered page holds the sentence and the hint, not the detail', () => {
    const html = renderPage(errorPage(new AppError('oauth_denied', `AADSTS65004: ${ATTACKER}`, { hint: 'Sign in again.' }), 'req-1'));
    expect(html).toContain('The user declined consent, so no sign-in took place.');
    expect(html).toContain('Sign in again.');
    expect(html).not.toContain('555');
  });
});
