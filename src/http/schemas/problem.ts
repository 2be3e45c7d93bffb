/** RFC 9457 problem details, as every error response is shaped. */
import { Type } from 'typebox';

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'A URI reference naming the problem type.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable snake_case error code that clients may switch on.' }),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    hint: Type.Optional(Type.String({ description: 'What to change, in the words of the setup guide.' })),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, $id: 'Problem', description: 'RFC 9457 problem details' },
);

const ref = Type.Unsafe<Record<string, unknown>>({ $ref: 'Problem#' });

/** Response schemas for the error statuses a route can answer. */
export function problemResponses(...statuses: number[]): Record<number, typeof ref> {
  // A route behind the API key (401) also answers 403 to a key without its scope.
  const all = statuses.includes(401) && !statuses.includes(403) ? [...statuses, 403] : statuses;
  return Object.fromEntries(all.map((status) => [status, ref]));
}
