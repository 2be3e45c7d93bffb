/**
 * Whose sign-in a delegated mailbox accepts. Pure: no I/O.
 *
 * First sign-in: an account one of whose names in the verified ID token
 * (preferred_username, email, upn) is the mailbox address. Renewal: that,
 * and the same person as the sign-in the mailbox holds, by `oid` and `tid`.
 * A name alone is not enough: the `email` claim is an attribute an
 * administrator sets freely (Entra does not verify it), and a UPN can be
 * given again to a new account after the old one is deleted. The mailbox
 * keeps oid and tid from its first sign-in (DelegatedAccountRecord); a
 * record that lacks them (written by hand, or by an older version) is
 * accepted once on the name, and then holds them. A shared mailbox worked by
 * an agent (signInAs) compares the account with the agent, not the mailbox.
 */
import type { VerifiedIdToken } from '../../adapters/oidc/id-token-verifier.js';
import { AppError } from '../../errors/errors.js';

/** What a mailbox knows of the account signed in to it. */
export interface MailboxAccountView {
  email: string;
  /** A shared mailbox's agent: the account that signs in instead of `email`. */
  signInAs?: string | null | undefined;
  account: { oid?: string | undefined; tenantId?: string | undefined } | null;
}

/** The names an ID token gives its account; any of them may be the mailbox address. */
export function accountNames(id: Pick<VerifiedIdToken, 'preferredUsername' | 'email' | 'upn'>): string[] {
  return [id.preferredUsername, id.email, id.upn].filter((name): name is string => name !== null);
}

/** Who must sign in: the shared mailbox's agent (signInAs), else the mailbox itself. */
const expectedAccount = (mailbox: MailboxAccountView): string => mailbox.signInAs ?? mailbox.email;

function wrongAccount(mailbox: MailboxAccountView, signedInAs: string, reason: 'another_address' | 'another_person'): AppError {
  const expected = expectedAccount(mailbox);
  const detail = reason === 'another_address'
    ? (mailbox.signInAs
      ? `You signed in as ${signedInAs}, but the shared mailbox ${mailbox.email} is worked by ${expected}. Nothing was changed.`
      : `You signed in as ${signedInAs}, but this mailbox is ${mailbox.email}. Nothing was changed.`)
    : `You signed in as ${signedInAs}, but that is not the account this mailbox was first connected with (another object id or tenant). Nothing was changed.`;
  const hint = reason === 'another_address'
    ? `Open the sign-in link in a private browser window (so no other Microsoft account is signed in) and sign in as ${expected}.`
    : 'Sign in with the account that first connected this mailbox. If the mailbox now belongs to another account, delete the mailbox and add it again.';
  return new AppError('wrong_account', detail, {
    hint,
    step: 'user_sign_in',
    fields: { signedInAs, expected, reason },
  });
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
/** A held id (absent or empty: nothing held yet) other than the signed-in one. */
const differs = (held: string | undefined, now: string): boolean => Boolean(held) && !same(held as string, now);

/**
 * The account name that matched the mailbox address, when the ID token's account may sign in to
 * this mailbox; else throws `wrong_account` (fields: signedInAs, expected, reason).
 */
export function acceptedAccount(mailbox: MailboxAccountView, id: VerifiedIdToken): string {
  const names = accountNames(id);
  const account = names.find((name) => same(name, expectedAccount(mailbox)));
  if (!account) throw wrongAccount(mailbox, names[0] ?? 'another account', 'another_address');
  const held = mailbox.account;
  if (differs(held?.oid, id.oid) || differs(held?.tenantId, id.tid)) throw wrongAccount(mailbox, account, 'another_person');
  return account;
}
