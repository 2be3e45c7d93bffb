/**
 * Lists that page (GET /v1/mailboxes, /v1/connections, /v1/webhooks) on the
 * wire: `limit` and `cursor` in, `{ items, nextCursor }` out; checked
 * against the domain's types (domain/paging.ts, domain/mailboxes/list.ts).
 */
import { Type, type Static, type TSchema } from 'typebox';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type PageQueryT } from '../../domain/paging.js';
import { idPattern } from '../../domain/ids.js';
import type { MailboxListQueryT } from '../../domain/mailboxes/list.js';
import { MAILBOX_STATES } from '../../domain/mailboxes/summary.js';
import type { MailboxStateT } from '../../domain/mailboxes/model.js';
import type { Check, Same } from './same.js';

/** `limit` and `cursor`, for a list's query-string schema. */
export const pageQueryProperties = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, description: `Page size, 1–${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT}).` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: '`nextCursor` of the previous page (opaque).' })),
};

export const PageQuery = Type.Object(pageQueryProperties, { additionalProperties: false });

/** `{ items, nextCursor }`: nextCursor null on the last page. */
export const PageOf = <T extends TSchema>(item: T) => Type.Object(
  {
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page.' }),
  },
  { additionalProperties: false },
);

/** Every state, as one enum: a wrong value is one problem (`must be equal to one of the allowed values`), not one per state. */
const StateFilter = Type.Enum(Object.keys(MAILBOX_STATES) as MailboxStateT[], { description: 'Only mailboxes in this state.' });

export const MailboxListQuery = Type.Object(
  {
    connectionId: Type.Optional(Type.String({ pattern: idPattern('con'), description: "Only this connection's mailboxes." })),
    state: Type.Optional(StateFilter),
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'Only this address (exact, case-insensitive).' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);

export type PagingSchemasAgree = [
  Check<Same<Static<typeof PageQuery>, PageQueryT>>,
  Check<Same<Static<typeof MailboxListQuery>, MailboxListQueryT>>,
];
