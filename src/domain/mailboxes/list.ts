/**
 * GET /v1/mailboxes: pages of mailboxes, filtered by connection, state and
 * address without a walk over the others. The store lists each mailbox under
 * the terms below (its terms index, store/record-pages.ts); a query reads the
 * one term that narrows it most and checks the rest on the records it reads:
 * an address names at most one mailbox per connection, so `email` with
 * anything else reads a handful.
 */
import type { PageQueryT } from '../paging.js';
import type { MailboxStateT } from './model.js';

export interface MailboxListQueryT extends PageQueryT {
  connectionId?: string;
  state?: MailboxStateT;
  email?: string;
}

/** The filterable fields of a mailbox. */
interface Listed {
  connectionId: string;
  state: string;
  email: string;
}

const stateTerm = (state: string): string => `state:${state}`;
const connectionTerm = (connectionId: string): string => `connection:${connectionId}`;
const connectionStateTerm = (connectionId: string, state: string): string => `connection-state:${connectionId}:${state}`;
const emailTerm = (email: string): string => `email:${email.toLowerCase()}`;

/** The terms a mailbox is listed under. */
export function mailboxTerms(mailbox: Listed): string[] {
  return [
    stateTerm(mailbox.state),
    connectionTerm(mailbox.connectionId),
    connectionStateTerm(mailbox.connectionId, mailbox.state),
    emailTerm(mailbox.email),
  ];
}

/** The term a query reads (undefined: no filter, every mailbox), and the check of every filter on a record read. */
export function mailboxFilter(query: MailboxListQueryT): { term: string | undefined; where: ((mailbox: Listed) => boolean) | undefined } {
  const { connectionId, state, email } = query;
  const term = email !== undefined ? emailTerm(email)
    : connectionId !== undefined && state !== undefined ? connectionStateTerm(connectionId, state)
      : connectionId !== undefined ? connectionTerm(connectionId)
        : state !== undefined ? stateTerm(state)
          : undefined;
  if (term === undefined) return { term, where: undefined };
  const address = email?.toLowerCase();
  return {
    term,
    where: (mailbox) => (connectionId === undefined || mailbox.connectionId === connectionId)
      && (state === undefined || mailbox.state === state)
      && (address === undefined || mailbox.email.toLowerCase() === address),
  };
}
