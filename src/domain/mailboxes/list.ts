/**
 * GET /v1/mailboxes: pages of mailboxes, filtered by connection, state and
 * address without a walk over the others. The store lists each mailbox under
 * the terms below (its terms index, store/record-pages.ts); a query reads the
 * one term that narrows it most and checks the rest on the records it reads:
 * an address names at most one mailbox per connection, so `email` with
 * anything else reads a handful.
 */
import { Type, type Static } from 'typebox';
import { idPattern } from '../ids.js';
import { pageQueryProperties } from '../paging.js';
import type { MailboxStateT } from './schemas.js';

/** Every state, as one enum: a wrong value is one problem (`must be equal to one of the allowed values`), not one per state. */
const STATES: Record<MailboxStateT, true> = {
  active: true, pending_authorization: true, auth_error: true, throttled: true, error: true, paused: true,
};
const StateFilter = Type.Enum(Object.keys(STATES) as MailboxStateT[], { description: 'Only mailboxes in this state.' });

export const MailboxListQuery = Type.Object(
  {
    connectionId: Type.Optional(Type.String({ pattern: idPattern('con'), description: "Only this connection's mailboxes." })),
    state: Type.Optional(StateFilter),
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Only this address (exact, case-insensitive).' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);
export type MailboxListQueryT = Static<typeof MailboxListQuery>;

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
