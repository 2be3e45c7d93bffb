/**
 * Values from the JSON Schemas of the OpenAPI document: `validValue` makes a
 * value of the schema's shape (close enough to valid to pass most checks),
 * `nearValid` that value with exactly one thing wrong: a field of another
 * type, too long, removed, or an unknown or prototype key added. This is
 * what reaches the handlers past the schema's first line of defence.
 *
 * Covers the keywords the service's TypeBox schemas use; anything else
 * falls back to an arbitrary JSON value.
 */
import fc from 'fast-check';
import { hugeString, NASTY_KEYS, nastyString } from './hostile.js';

export type JsonSchema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
};

/** Strings kept short: validity, not size, is the point here (size is hostile.ts's). */
const SHORT = 24;

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? SHORT, SHORT));
  switch (schema.format) {
    case 'email': return fc.emailAddress().filter((s) => s.length <= (schema.maxLength ?? 254));
    case 'uri': case 'url': return fc.webUrl().filter((s) => s.length <= (schema.maxLength ?? 2048));
    case 'date-time': return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
    default: break;
  }
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    return fc.stringMatching(pattern, { size: 'xsmall' }).filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
  }
  return fc.string({ unit: 'grapheme', minLength: min, maxLength: max });
}

/**
 * Values for properties by name, where a random value of the right type is
 * not enough to get past the handler's own checks (an id that exists, an
 * address on the allowlist). Merged with the schema's own `examples`.
 */
export type Hints = Readonly<Record<string, fc.Arbitrary<unknown>>>;

export function validValue(schema: JsonSchema | undefined, hints: Hints = {}, minimal = false): fc.Arbitrary<unknown> {
  if (!schema || typeof schema !== 'object') return fc.jsonValue({ maxDepth: 2 });
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alt) => validValue(alt, hints, minimal)));
  if (schema.allOf?.length) return validValue(Object.assign({}, ...schema.allOf) as JsonSchema, hints, minimal);
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => validValue({ ...schema, type }, hints, minimal)));
  if (Array.isArray(schema.examples) && schema.examples.length > 0) {
    return fc.oneof(fc.constantFrom(...schema.examples), validValue({ ...schema, examples: undefined }, hints, minimal));
  }
  switch (schema.type) {
    case 'object': {
      const required = schema.required ?? [];
      const properties = Object.fromEntries(Object.entries(schema.properties ?? {})
        // Minimal: the required fields and those hinted; a body made only of them passes a handler's own checks far more often.
        .filter(([k]) => !minimal || required.includes(k) || k in hints)
        .map(([k, v]) => [k, hints[k] ?? validValue(v, hints, minimal)]));
      const base = fc.record(properties, { requiredKeys: required.filter((k) => k in properties) });
      if (!minimal && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        const extra = fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/), validValue(schema.additionalProperties, hints), { maxKeys: 3 });
        return fc.tuple(base, extra).map(([a, b]) => ({ ...b, ...a }));
      }
      return base;
    }
    case 'array': {
      const min = schema.minItems ?? 0;
      const constraints = { minLength: min, maxLength: Math.max(min, Math.min(schema.maxItems ?? 3, 3)) };
      const items = validValue(schema.items, hints, minimal);
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(items, constraints);
    }
    case 'string': return stringFor(schema);
    case 'integer': return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number': return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean': return fc.boolean();
    case 'null': return fc.constant(null);
    default: return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Every location inside a value, as a path of keys and indexes (the root is []). */
function locations(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  const out = [path];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...locations(item, [...path, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...locations(v, [...path, k]));
  return out;
}

/** What one mutation does at the chosen location. */
type Mutation =
  | { kind: 'replace'; with: unknown }
  | { kind: 'remove' }
  | { kind: 'add-key'; key: string; value: unknown };

const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53 + 2, -(2 ** 31), '', [], {}, [null], { '': null }, '0', 'true', 'null'),
  nastyString,
  hugeString,
  fc.jsonValue({ maxDepth: 3 }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: wrongValue.map((w): Mutation => ({ kind: 'replace', with: w })) },
  { weight: 2, arbitrary: fc.constant<Mutation>({ kind: 'remove' }) },
  { weight: 3, arbitrary: fc.tuple(fc.oneof(fc.constantFrom(...NASTY_KEYS), nastyString), wrongValue).map(([key, value]): Mutation => ({ kind: 'add-key', key, value })) },
);

/** A deep copy with `mutation` applied at `path`. Keys are defined as own properties, `__proto__` included. */
function apply(value: unknown, path: (string | number)[], m: Mutation): unknown {
  if (path.length === 0) {
    if (m.kind === 'replace') return m.with;
    if (m.kind === 'remove') return undefined;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const copy = { ...(value as Record<string, unknown>) };
      Object.defineProperty(copy, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      return copy;
    }
    return Array.isArray(value) ? [...value, m.value] : m.value;
  }
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    const next = apply(copy[head as number], rest, m);
    if (next === undefined) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const next = k === head ? apply(v, rest, m) : v;
    if (next !== undefined) Object.defineProperty(copy, k, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** A value of the schema's shape with one thing wrong, as JSON text. */
export function nearValid(schema: JsonSchema | undefined, hints: Hints = {}): fc.Arbitrary<string> {
  return fc.tuple(validValue(schema, hints), fc.nat(), mutation).map(([value, pick, m]) => {
    const all = locations(value);
    const mutated = apply(value, all[pick % all.length] ?? [], m);
    return mutated === undefined ? '' : JSON.stringify(mutated);
  });
}

/** A valid value, as JSON text, full or minimal: the control group that reaches the handler's own logic. */
export function validText(schema: JsonSchema | undefined, hints: Hints = {}): fc.Arbitrary<string> {
  return fc.oneof(validValue(schema, hints), validValue(schema, hints, true)).map((v) => JSON.stringify(v) ?? '');
}
