/**
 * Path ids derived from real ones (issue 13). Real records exist (a
 * connection, a mailbox, a webhook subscription, a delivery, a queued send);
 * every route with an id in its path (read from the app, so routes added
 * later are covered) gets ids made from those: a Redis key's suffix added
 * (`:mailboxes`, `:address:<email>`, `:content`), hash-tag braces, globs,
 * spaces, separators written raw or percent-encoded (%3A, %7D, %2F), cut or
 * lengthened, or the id of another kind, with everything else about the
 * request valid. Whatever the id, the answer is the 404 of an unknown id (an
 * HTML page on the browser route), no Redis command is sent while answering
 * (MONITOR), and nothing stored changes.
 *
 * FUZZ_RUNS scales the runs as in routes.test.ts.
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEvent } from '../../src/domain/events/events.js';
import { isId, type IdPrefix } from '../../src/domain/ids.js';
import { useRedis, useTestApp } from '../support/fixtures.js';
import { dumpRedis } from '../support/redis-dump.js';
import { RedisMonitor, type MonitoredCommand } from '../support/redis-monitor.js';
import { percentEncode } from './hostile.js';
import { contractBreach, operationsOf, type Operation } from './operations.js';

const SCALE = Number(process.env.FUZZ_RUNS ?? 0) > 0 ? Number(process.env.FUZZ_RUNS) / 40 : 1;
const RUNS = Math.max(1, Math.round(25 * SCALE));
const EMAIL = 'derived@contoso.example';
const DEAD = 'https://127.0.0.1:9';

type Kind = IdPrefix | 'uid' | 'part';

/** What each path parameter names: the contract, written out. A route this does not know fails the test. */
function kindOf(op: Operation, param: string): Kind | undefined {
  if (param === 'deliveryId') return 'dlv';
  if (param === 'uid') return 'uid';
  if (param === 'attachmentId') return 'part';
  if (param !== 'id') return undefined;
  const collection = /^\/v1\/(connections|mailboxes|webhooks|send)\/:id/.exec(op.url)?.[1] as 'connections' | 'mailboxes' | 'webhooks' | 'send' | undefined;
  return collection === undefined ? undefined : ({ connections: 'con', mailboxes: 'mbx', webhooks: 'whk', send: 'snd' } as const)[collection];
}

/** Valid bodies, so that only the id is wrong. */
const BODIES: Readonly<Record<string, object>> = {
  'PATCH /v1/connections/:id': { name: 'renamed by the fuzzer' },
  'POST /v1/connections/:id/admin-consent': {},
  'PATCH /v1/mailboxes/:id': { pollIntervalSeconds: 120 },
  'POST /v1/mailboxes/:id/folders': { path: 'Processed' },
  'PATCH /v1/mailboxes/:id/messages/:uid': { seen: true },
  'POST /v1/mailboxes/:id/messages/:uid/move': { to: 'Archive' },
  'POST /v1/mailboxes/:id/messages/actions': { uids: [1], seen: true },
};

let monitor: RedisMonitor;
let real: Record<Kind, string>;
let operations: Operation[];

async function created(url: string, payload: object, status = 201): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url, headers: t.auth, payload });
  expect(res.statusCode, res.body).toBe(status);
  return (res.json() as { id: string }).id;
}

const redis = useRedis();
const t = useTestApp({ LOGIN_RETURN_TO_ALLOWLIST: 'https://app.example/' }, redis);
beforeAll(async () => {
  const con = await created('/v1/connections', {
    name: 'derived', flow: 'app_only', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'Xq38Q~SuperSecretValue.abcdefghij', authorityHost: DEAD,
  });
  const mbx = await created('/v1/mailboxes', { connectionId: con, email: EMAIL, imap: { host: '127.0.0.1', port: 9, secure: true } });
  const whk = await created('/v1/webhooks', { url: 'https://93.184.215.14/hooks', events: ['message.sent'] });
  const snd = await created('/v1/send', { mailboxId: mbx, to: ['a@example.com'], subject: 'derived', text: 'hello' }, 202);
  await t.deps.events.publish(newEvent('message.sent', { sendId: snd, mailboxId: mbx, messageId: '<derived@x>', smtpResponse: '250 2.0.0 OK' }));
  const deliveries = await t.app.inject({ method: 'GET', url: `/v1/webhooks/${whk}/deliveries`, headers: t.auth });
  const dlv = (deliveries.json() as { items: { deliveryId: string }[] }).items[0]?.deliveryId;
  expect(dlv, deliveries.body).toBeDefined();
  real = { con, mbx, whk, snd, dlv: dlv!, uid: '1', part: '2' };
  operations = operationsOf(t.app).filter((op) => op.params.length > 0);
  monitor = await RedisMonitor.start(redis.url);
});

afterAll(async () => {
  await monitor?.stop();
});

const isUid = (value: string): boolean => /^[1-9][0-9]{0,9}$/.test(value) && Number(value) <= 4_294_967_295;
const isPart = (value: string): boolean => value.length <= 64 && /^[1-9][0-9]{0,3}(\.[1-9][0-9]{0,3}){0,31}$/.test(value);
const wellFormed = (kind: Kind, value: string): boolean => (kind === 'uid' ? isUid(value) : kind === 'part' ? isPart(value) : isId(value, kind));

/** Text a Redis key of the service puts after, before or around an id; and other separators. */
const SUFFIXES = [
  ':mailboxes', `:address:${EMAIL}`, ':address:', ':content', ':deliveries', ':finished', ':health', ':poll-lock', ':messages',
  ':mailboxes:x', '}', '{x}', '}:x', '*', '?', ' ', '\t', '/', '\\', '\u0000', '%', '%3A', '..', '.', '\n', 'é',
];
const PREFIXES = ['{', '}', '*', ' ', ':', 'x', '{test}:connection:', 'mbx:', 'tok:', '../'];

/** A value made from a real one that is not of its kind's shape (nor a dot segment: `…/messages/.` is another path, the list). */
function derived(kind: Kind): fc.Arbitrary<string> {
  const base = real[kind];
  const others = Object.entries(real).filter(([k]) => k !== kind).map(([, v]) => v);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(':mailboxes', `:address:${EMAIL}`).map((s) => base + s) },
    { weight: 5, arbitrary: fc.constantFrom(...SUFFIXES).map((s) => base + s) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...SUFFIXES), fc.string({ maxLength: 12 })).map(([s, tail]) => base + s + tail) },
    { weight: 2, arbitrary: fc.constantFrom(...PREFIXES).map((p) => p + base) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: base.length }).map((n) => base.slice(0, -n)) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/).map((more) => base + more) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom('+', '.', '=', '~', '{', '}', ':', '%', ' ', '/')).map(([i, c]) => {
      const at = i % base.length;
      return base.slice(0, at) + c + base.slice(at + 1);
    }) },
    { weight: 1, arbitrary: fc.constant(base.toUpperCase()) },
    { weight: 1, arbitrary: fc.constantFrom(...others) },
    { weight: 1, arbitrary: fc.constantFrom('0', '-1', '4294967296', '1.5', '0x10', '1e3', '01', ' 1', '', 'null') },
  ).filter((value) => !['', '.', '..'].includes(value) && !wellFormed(kind, value));
}

/** How the value goes on the wire: percent-encoded, separators encoded in lower case, encoded twice, or raw when a URL can carry it. */
const wire = fc.constantFrom<(value: string) => string>(
  (v) => percentEncode(v),
  (v) => percentEncode(v).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
  (v) => percentEncode(v).replace(/%3A/g, ':').replace(/%40/g, '@').replace(/%2A/g, '*'),
  (v) => percentEncode(percentEncode(v)),
  (v) => (/^[A-Za-z0-9_.~:@*!$&'()+,;={}-]+$/.test(v) ? v : percentEncode(v)),
);

interface Input {
  /** Raw path segments by parameter name. */
  segments: Record<string, string>;
  /** The first parameter (in path order) whose value is not of its shape. */
  broken: string;
}

function inputFor(op: Operation): fc.Arbitrary<Input> {
  const kinds = op.params.map((p) => [p, kindOf(op, p)!] as const);
  return fc.tuple(
    fc.subarray(kinds.map(([p]) => p), { minLength: 1 }),
    fc.record(Object.fromEntries(kinds.map(([p, kind]) => [p, fc.tuple(derived(kind), wire)]))),
  ).map(([brokenParams, values]) => ({
    segments: Object.fromEntries(kinds.map(([p, kind]) => {
      const [value, encode] = values[p]!;
      return [p, brokenParams.includes(p) ? encode(value) : percentEncode(real[kind])];
    })),
    broken: op.params.find((p) => brokenParams.includes(p))!,
  }));
}

function urlOf(op: Operation, input: Input): string {
  const path = op.url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => input.segments[name]!);
  const required = op.query.filter((q) => q.required).map((q) => q.name);
  // The one required query parameter of a route with a path id: the sign-in start's returnTo.
  return required.includes('returnTo') ? `${path}?returnTo=${encodeURIComponent('https://app.example/after')}` : path;
}

/** Why the answer is not the 404 of an unknown record sent without touching Redis, or undefined. */
function wrongAnswer(op: Operation, input: Input, res: LightMyRequestResponse, commands: MonitoredCommand[]): string | undefined {
  if (res.statusCode !== 404) return `answered ${res.statusCode}: ${res.body.slice(0, 300)}`;
  const breach = contractBreach(op, res);
  if (breach) return breach;
  if (commands.length > 0) return `sent Redis commands: ${JSON.stringify(commands.map((c) => c.args.slice(0, 2))).slice(0, 300)}`;
  if (op.method === 'HEAD' || op.htmlErrors) return undefined;
  const broken = kindOf(op, input.broken);
  const expected = broken === 'uid' ? 'message_not_found' : broken === 'part' ? 'attachment_not_found' : 'not_found';
  const problem = res.json() as { code?: string };
  return problem.code === expected ? undefined : `answered code ${String(problem.code)}, not ${expected}`;
}

describe('path ids derived from real ones', () => {
  it('knows the kind of every path parameter of every route', () => {
    expect(operations.length).toBeGreaterThan(20);
    const unknown = operations.flatMap((op) => op.params.filter((p) => kindOf(op, p) === undefined).map((p) => `${op.name} :${p}`));
    expect(unknown, 'say in kindOf what these name').toEqual([]);
  });

  it('answer 404 on every route and method, without a Redis command, and change nothing', async () => {
    for (const op of operations) {
      const before = await dumpRedis(t.deps.redis);
      const body = BODIES[`${op.method} ${op.url}`];
      await fc.assert(
        fc.asyncProperty(inputFor(op), async (input) => {
          const url = urlOf(op, input);
          const { result: res, commands } = await monitor.during(() => t.app.inject({
            method: op.method, url, headers: t.auth, ...(body ? { payload: body } : {}),
          }));
          const wrong = wrongAnswer(op, input, res, commands);
          if (wrong) throw new Error(`${op.name} ${url} ${wrong}`);
        }),
        { numRuns: RUNS, endOnFailure: process.env.FUZZ_SHRINK !== 'true' },
      );
      const after = await dumpRedis(t.deps.redis);
      expect([...after].sort(), `${op.name} changed what is stored`).toEqual([...before].sort());
    }
  }, 120_000 * SCALE);

  it('left every record as it was, readable with its real id', async () => {
    for (const url of [`/v1/connections/${real.con}`, `/v1/mailboxes/${real.mbx}`, `/v1/webhooks/${real.whk}`,
      `/v1/webhooks/${real.whk}/deliveries/${real.dlv}`, `/v1/send/${real.snd}`]) {
      const res = await t.app.inject({ method: 'GET', url, headers: t.auth });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    }
    const errors = t.logs.records().filter((r) => Number(r.level) >= 50);
    expect(errors.map((r) => JSON.stringify(r).slice(0, 500))).toEqual([]);
  });
});
