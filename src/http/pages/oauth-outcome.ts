/**
 * What the sign-in pages say: success names the account now connected;
 * a failure gets the status, wording and hint `classify` gives its error
 * (so a page and a problem document never disagree), plus a link back to
 * the application for a sign-in that came from one.
 */
import { classify } from '../../errors/classify.js';
import type { PageContent } from './oauth-page.js';

export function connectedPage(connected: { account: string; email: string }, requestId: string): PageContent {
  return {
    status: 200,
    title: 'Mailbox connected',
    message: `${connected.account} is now connected: mailsync reads and sends mail for ${connected.email} with this sign-in. You can close this window.`,
    requestId,
  };
}

export function errorPage(err: unknown, requestId: string, returnTo?: string): PageContent {
  const c = classify(err);
  return {
    status: c.status,
    title: c.title,
    message: c.detail,
    hint: c.hint,
    code: c.code,
    requestId,
    link: returnTo ? { href: returnTo, text: 'Back to the application' } : undefined,
  };
}
