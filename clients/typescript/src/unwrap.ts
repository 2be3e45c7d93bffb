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

export async function unwrap<Data, Failure>(result: ClientResult<Data, Failure> | Promise<ClientResult<Data, Failure>>): Promise<Data> {
  const settled = await result;
  if (settled.error !== undefined) throw new MailsyncApiError(settled.response.status, settled.error);
  return settled.data as Data;
}
