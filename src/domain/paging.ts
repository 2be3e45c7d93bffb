/**
 * Lists that page (GET /v1/mailboxes, /v1/connections, /v1/webhooks): the
 * query every list takes, the answer it gives, and the refusal of a cursor
 * the API did not give out. The order and the cursor are the store's
 * (store/record-pages.ts): creation order, stable while records are added or
 * removed; to callers the cursor is opaque.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { ValidationError } from '../errors/errors.js';

/** The page size when the query names none. */
export const DEFAULT_PAGE_LIMIT = 100;
/** The largest page: 500 mailboxes are about 250 kB of JSON. */
export const MAX_PAGE_LIMIT = 500;

/** `limit` and `cursor`, for a list's query-string schema. */
export const pageQueryProperties = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, description: `Page size, 1–${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT}).` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: '`nextCursor` of the previous page (opaque).' })),
};

export const PageQuery = Type.Object(pageQueryProperties, { additionalProperties: false });
export type PageQueryT = Static<typeof PageQuery>;

/** `{ items, nextCursor }`: nextCursor null on the last page. */
export const PageOf = <T extends TSchema>(item: T) => Type.Object(
  {
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page.' }),
  },
  { additionalProperties: false },
);

export interface PageT<T> {
  items: T[];
  nextCursor: string | null;
}

/** What the store answers for a cursor it did not give out. */
export function invalidCursor(): ValidationError {
  return new ValidationError(
    'cursor is not a cursor this API gave out.',
    [{ field: '/cursor', message: 'is not a valid cursor' }],
    'Pass the nextCursor of the previous page unchanged, or leave cursor out to start from the first page.',
  );
}
