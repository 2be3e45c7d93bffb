/**
 * openapi-fetch answers `{ data }` or `{ error }`; unwrap() gives the data or throws the error as
 * a MailsyncApiError, for callers that prefer exceptions to checking each result.
 *
 *     const mailbox = await unwrap(client.GET('/v1/mailboxes/{id}', { params: { path: { id } } }));
 */
import { MailsyncApiError } from './errors.js';

/** The result of any client call (openapi-fetch's FetchResponse, whatever the operation). */
export type ClientResult<Data, Failure> =
  | { data: Data; error?: never; response: Response }
  | { data?: never; error: Failure; response: Response };

/** The data of a result's success branch (undefined for an operation that answers no content). */
export type SuccessData<R> = Extract<R, { error?: never }> extends { data: infer Data } ? Data : never;

export async function unwrap<R extends ClientResult<unknown, unknown>>(result: R | Promise<R>): Promise<SuccessData<R>> {
  const settled = await result;
  if (settled.error !== undefined) throw new MailsyncApiError(settled.response.status, settled.error);
  return settled.data as SuccessData<R>;
}
