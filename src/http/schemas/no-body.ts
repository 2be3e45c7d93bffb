/**
 * Actions take no input: no body, or an empty JSON object; anything else is
 * a 400, as an unknown field is everywhere in the API. Checked by a
 * preValidation hook rather than a body schema, because a body schema would
 * make OpenAPI declare a required request body.
 */
import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../../errors/errors.js';

export async function refuseBody(request: FastifyRequest): Promise<void> {
  const { body } = request;
  if (body === undefined || body === null) return;
  if (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0) return;
  throw new ValidationError('This action takes no request body.', [{ field: '', message: 'must be absent or {}' }], undefined, 'body');
}
