/**
 * What the sign-in pages say: success names the account now connected;
 * a failure gets the status, title, code and hint `classify` gives its error
 * and the fixed sentence of its code (page-sentences.ts: never the error's
 * detail, which may carry text from the query), plus a link back to the
 * application for a sign-in that came from one.
 */
import { classify } from '../../errors/classify.js';
import type { PageContent } from './oauth-page.js';
import { pageSentence } from './page-sentences.js';

export function connectedPage(connected: { account: string; email: string }, requestId: string): PageContent {
  return {
    status: 200,
    title: 'Mailbox connected',
    message: `${connected.account} is now connected: mailsync reads and sends mail for ${connected.email} with this sign-in. You can close this window.`,
    requestId,
  };
}

export function consentedPage(consented: { name: string; tenantId: string }, requestId: string): PageContent {
  return {
    status: 200,
    title: 'Admin consent granted',
    message: `Your organisation (tenant ${consented.tenantId}) has granted ${consented.name} the permissions it asked for. You can close this window.`,
    requestId,
  };
}

export function errorPage(err: unknown, requestId: string, returnTo?: string): PageContent {
  const c = classify(err);
  return {
    status: c.status,
    title: c.title,
    message: pageSentence(c),
    hint: c.hint,
    code: c.code,
    requestId,
    link: returnTo ? { href: returnTo, text: 'Back to the application' } : undefined,
  };
}
