/**
 * Arbitraries for hostile HTTP input: JSON texts (random shapes, deep
 * nesting, huge and unicode strings, prototype keys, duplicate keys, broken
 * syntax), query strings, header sets and path parameter values.
 *
 * JSON is assembled as text from a tree rather than with JSON.stringify on
 * an object: that is the only way to put `__proto__` and duplicate keys on
 * the wire exactly as an attacker would.
 */
import fc from 'fast-check';

export type JsonTree =
  | { kind: 'raw'; text: string }
  | { kind: 'array'; items: JsonTree[] }
  | { kind: 'object'; entries: [string, JsonTree][] };

/** Keys that mean something to JavaScript objects, parsers or this service. */
export const NASTY_KEYS = [
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__',
  '$ref', '$id', 'then', 'length', '', ' ', 'id', 'code', 'status', 'polluted', '\u0000', '𝔘𝔫𝔦', 'ключ',
] as const;

/** Strings up to a few MB: long enough to cross every body limit the service has (1 MiB by default). */
export const hugeString = fc
  .tuple(fc.constantFrom('x', 'é', '😀', '\\', '"', '\u0000', '<script>', '%00'), fc.integer({ min: 10_000, max: 1_600_000 }))
  .map(([unit, bytes]) => unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))));

/**
 * Short hostile strings: control characters, astral and combining unicode,
 * lone surrogates, injection classics, prototype keys, up to 8 KB.
 * Huge strings are kept apart (hugeString) and used once per input: a tree
 * of megabyte strings costs generation time and tests nothing more.
 */
export const nastyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom('\r\nX-Injected: 1', '../../etc/passwd', "' OR 1=1 --", '${7*7}', '{{7*7}}', '\ud800', '\uDFFF\uD800', 'a\u0000b', '%E0%A4%A', 'javascript:alert(1)', 'https://169.254.169.254/latest/meta-data/', '*', '?', '\\\\') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', 'é', '😀', '\u0301'), fc.integer({ min: 256, max: 8192 })).map(([unit, n]) => unit.repeat(n)) },
);

const scalarText: fc.Arbitrary<string> = fc.oneof(
  nastyString.map((s) => JSON.stringify(s)),
  fc.double().map((n) => (Number.isFinite(n) ? String(n) : '1e309')),
  fc.constantFrom('0', '-0', '1e400', '-1e400', '9007199254740993', '123456789012345678901234567890', '1.5', 'true', 'false', 'null', '""'),
  fc.integer().map(String),
);

/** A JSON tree of random shape. */
export const jsonTree: fc.Arbitrary<JsonTree> = fc.letrec<{ tree: JsonTree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText.map((text): JsonTree => ({ kind: 'raw', text })),
    fc.array(tie('tree'), { maxLength: 6 }).map((items): JsonTree => ({ kind: 'array', items })),
    fc.array(fc.tuple(fc.oneof(nastyString, fc.constantFrom(...NASTY_KEYS)), tie('tree')), { maxLength: 6 })
      .map((entries): JsonTree => ({ kind: 'object', entries })),
  ),
})).tree;

export function jsonText(tree: JsonTree): string {
  switch (tree.kind) {
    case 'raw':
      return tree.text;
    case 'array':
      return `[${tree.items.map(jsonText).join(',')}]`;
    case 'object':
      return `{${tree.entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  }
}

/** Nesting thousands deep: a recursive parser or validator would overflow its stack. */
const deepNesting = fc
  .tuple(fc.constantFrom('[', '{"a":', '{"__proto__":'), fc.integer({ min: 100, max: 20_000 }))
  .map(([open, depth]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);

/** Almost JSON, or not JSON at all. */
const brokenJson = fc.oneof(
  fc.constantFrom('', ' ', '{', '}', '{"a":', '{"a":1,}', "{'a':1}", '{"a":1}{"b":2}', '\ufeff{}', 'NaN', 'undefined', '{"a":"\\u12"}', '{"a":"\ud800"}', '[]', '"x"', 'null', '0'),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

/** One huge string somewhere in a small object: the body limit, or a field's maxLength, must stop it. */
const hugeField = fc.tuple(fc.constantFrom(...NASTY_KEYS, 'name', 'subject', 'text', 'url', 'clientSecret', 'code'), hugeString, jsonTree)
  .map(([key, huge, rest]) => `{"a":${jsonText(rest)},${JSON.stringify(key)}:${JSON.stringify(huge)}}`);

/** A request body as sent on the wire. */
export const hostileBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: jsonTree.map(jsonText) },
  { weight: 2, arbitrary: brokenJson },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: hugeField },
);

export const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=utf-16',
  'application/json;;;', 'application/problem+json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'text/plain', 'application/octet-stream', '', 'application/json\r\nX-Injected: 1', ' application/json ', 'application/jsonp',
] as const;

/** An optional content type: undefined leaves light-my-request's default. */
export const contentType = fc.option(fc.oneof(fc.constantFrom(...CONTENT_TYPES), nastyString), { nil: undefined });

/** A query string, without the `?`. */
export const hostileQuery: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.tuple(fc.oneof(nastyString, fc.constantFrom(...NASTY_KEYS, 'limit', 'folder', 'cursor', 'returnTo', 'state', 'code')), nastyString), { maxLength: 8 })
    .map((pairs) => pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&')),
  fc.constantFrom(
    '__proto__[polluted]=1', 'constructor[prototype][polluted]=1', '__proto__=1&__proto__=2', 'limit=1&limit=2&limit=3',
    'a=%', 'a=%E0%A4%A', '%%%', '&&&', '=', 'a[]=1&a[]=2', 'limit=-1', 'limit=1e9', 'limit=0x10', 'beforeUid=NaN', 'folder=',
    `folder=${'A'.repeat(20_000)}`, 'state=a&state=b', 'returnTo=javascript:alert(1)', 'returnTo=//evil.example',
  ),
  // Raw printable text, as a careless client would append it: spaces, quotes, brackets, stray %.
  fc.string({ unit: 'grapheme-ascii', maxLength: 300 }).map((s) => s.replace(/#/g, '%23')),
);

/** A header value; light-my-request passes it as is, so CR, LF and non-ASCII reach Fastify. */
const headerValue = fc.oneof(
  nastyString,
  fc.constantFrom('a\r\nX-Injected: 1', '\r\n\r\nGET / HTTP/1.1', 'é', '\u2028', 'x'.repeat(16 * 1024)),
);

const headerName = fc.oneof(
  fc.constantFrom('x-request-id', 'idempotency-key', 'content-length', 'transfer-encoding', 'x-forwarded-for', 'x-forwarded-host',
    'host', 'accept', 'accept-encoding', 'origin', 'cookie', 'x-http-method-override', 'expect', 'connection', 'range'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/),
);

export type AuthChoice = 'none' | 'valid' | 'valid-twice' | 'valid-and-wrong' | 'wrong' | 'crlf' | 'huge' | 'odd';

export const authChoice = fc.constantFrom<AuthChoice>('none', 'valid', 'valid', 'valid', 'valid-twice', 'valid-and-wrong', 'wrong', 'crlf', 'huge', 'odd');

/** The Authorization header(s) for a choice; `valid` is the configured key. */
export function authorization(choice: AuthChoice, valid: string): string | string[] | undefined {
  switch (choice) {
    case 'none': return undefined;
    case 'valid': return `Bearer ${valid}`;
    case 'valid-twice': return [`Bearer ${valid}`, `Bearer ${valid}`];
    case 'valid-and-wrong': return [`Bearer ${valid}`, 'Bearer wrong-key-0123456789'];
    case 'wrong': return 'Bearer wrong-key-0123456789';
    case 'crlf': return `Bearer ${valid}\r\nX-Injected: 1`;
    case 'huge': return `Bearer ${'k'.repeat(70_000)}`;
    case 'odd': return `bearer\t${valid}\u00a0`;
  }
}

/** Extra headers besides authorization and content-type. */
export const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(headerName, headerValue, { maxKeys: 4, noNullPrototype: true })
  .map((headers) => {
    // Keep the header set something a request can carry at all.
    const { host: _host, 'content-length': length, 'transfer-encoding': _te, ...rest } = headers;
    return length !== undefined && /^\d{1,9}$/.test(length) ? { ...rest, 'content-length': length } : rest;
  });

/** encodeURIComponent that never throws: lone surrogates become U+FFFD first. */
export function percentEncode(text: string): string {
  return encodeURIComponent(text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
}

/** A path segment as it appears in the URL: encoded text, or raw oddities (malformed escapes, dot segments, overlong). */
export const hostileSegment = fc.oneof(
  nastyString.map(percentEncode),
  fc.constantFrom('..', '.', '%2e%2e', '%2F', 'a%2Fb', '%00', '%E0%A4%A', '%', '%%', '0', '-1', '99999999999999999999', 'con_', 'mbx_0000000000000000', 'x'.repeat(300), 'é', ';a=b'),
);
