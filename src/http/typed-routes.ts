/**
 * The Fastify instance route plugins are written against: the TypeBox type
 * provider infers each handler's params, query, headers, body and reply from
 * the route's schema, so routes write no generics. Types only: at run time
 * the instance is the app's, validated by plugins/validation.ts.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';

export type TypedApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/**
 * A 204's payload: none, as `reply.send()` sends it. The schema's `Type.Null()` is only
 * what the OpenAPI document says; the provider would ask for a `null` the reply never sends.
 */
export const NO_CONTENT = undefined as never;
