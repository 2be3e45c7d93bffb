/**
 * Lists that page (GET /v1/mailboxes, /v1/connections, /v1/webhooks): the
 * query every list takes, the answer it gives, and the refusal of a cursor
 * the API did not give out. The order and the cursor are the store's
 * (store/record-pages.ts): creation order, stable while records are added or
 * removed; to callers the cursor is opaque. The wire schemas are in
 * http/schemas/paging.ts.
 */
import { ValidationError } from '../errors/errors.js';

/** The page size when the query names none. */
export const DEFAULT_PAGE_LIMIT = 100;
/** The largest page: 500 mailboxes are about 250 kB of JSON. */
export const MAX_PAGE_LIMIT = 500;

/** `limit` and `cursor`, as every list takes them. */
export interface PageQueryT {
  limit?: number;
  cursor?: string;
}

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
