/**
 * Request validation. Fastify's default Ajv silently strips unknown fields
 * and coerces types in bodies; the contract says an unknown field or a wrong
 * type is a 400. So bodies get a strict Ajv (no coercion, no removal), while
 * query strings, params and headers, which are text on the wire, get one
 * that coerces scalars.
 */
import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifySchema, FastifySchemaValidationError, RouteOptions } from 'fastify';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as unknown as AddFormats;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    strict: false,
    removeAdditional: false,
    useDefaults: false,
    ...options,
  });
  addFormats(ajv);
  return ajv;
}

type Validate = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };

/**
 * A path integer (a message UID) must be written in decimal, as the API gives
 * it out: Ajv's coercion alone would also read `0x10`, ` 1`, `1e3` or `01`
 * as a number. A path value refused here is a 404 (plugins/path-ids.ts).
 */
function decimalPathIntegers(schema: object, validate: Validate): Validate {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const integers = Object.keys(properties).filter((name) => properties[name]?.type === 'integer');
  if (integers.length === 0) return validate;
  const check: Validate = (data) => {
    const params = (data ?? {}) as Record<string, unknown>;
    const bad = integers.find((name) => typeof params[name] === 'string' && !/^-?(0|[1-9][0-9]*)$/.test(params[name]));
    if (bad !== undefined) {
      check.errors = [{ instancePath: `/${bad}`, schemaPath: `#/properties/${bad}/type`, keyword: 'type', params: { type: 'integer' }, message: 'must be an integer written in decimal' }];
      return false;
    }
    const ok = validate(data);
    check.errors = validate.errors ?? null;
    return ok;
  };
  return check;
}

export function installValidation(app: FastifyInstance): void {
  const strict = makeAjv({ coerceTypes: false });
  const coercing = makeAjv({ coerceTypes: 'array' });
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) => {
    if (httpPart === 'body') return strict.compile(schema as object);
    const validate = coercing.compile(schema as object) as Validate;
    return httpPart === 'params' ? decimalPathIntegers(schema as object, validate) : validate;
  });
}

/** The query string of a route that declares none: no parameter at all. */
const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const;

/**
 * An onRoute hook for the API: a route without a query-string schema takes no parameters, so
 * an unknown one is refused (400 validation_failed, `/querystring/<name>`) as an unknown body
 * field is, instead of being ignored (a `limit` that silently did nothing was issue #20).
 */
export function refuseUnknownQuery(route: RouteOptions): void {
  route.schema ??= {};
  route.schema.querystring ??= NO_QUERY;
}
